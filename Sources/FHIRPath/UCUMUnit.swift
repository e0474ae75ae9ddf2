import Foundation

/// A UCUM unit reduced to a factor and powers of the base units (m, g, s, and a few others), for
/// the conversions FHIRPath comparisons need (`'cm'` to `'m'`, `'g'` to `'mg'`, `'wk'` to `'d'`).
/// Units are products and quotients of prefixed atoms with integer exponents (`mg/dL`, `m2`,
/// `10*-3.mm2/s`); unknown atoms make the unit unknown.
struct UCUMUnit: Sendable, Hashable {
    var factor: Decimal
    /// Exponents of m, g, s, K, mol, rad, and "other" units kept by name.
    var dimensions: [String: Int]

    private static let atoms: [String: (Decimal, [String: Int])] = [
        "1": (1, [:]), "%": (Decimal(string: "0.01") ?? 0, [:]),
        "m": (1, ["m": 1]), "g": (1, ["g": 1]), "s": (1, ["s": 1]), "L": (Decimal(string: "0.001") ?? 0, ["m": 3]),
        "l": (Decimal(string: "0.001") ?? 0, ["m": 3]),
        "min": (60, ["s": 1]), "h": (3600, ["s": 1]), "d": (86400, ["s": 1]), "wk": (604_800, ["s": 1]),
        "a": (31_557_600, ["s": 1]), "mo": (2_629_800, ["s": 1]),
        "[in_i]": (Decimal(string: "0.0254") ?? 0, ["m": 1]), "[ft_i]": (Decimal(string: "0.3048") ?? 0, ["m": 1]),
        "[lb_av]": (Decimal(string: "453.59237") ?? 0, ["g": 1]), "[oz_av]": (Decimal(string: "28.349523125") ?? 0, ["g": 1]),
        "mol": (1, ["mol": 1]), "K": (1, ["K": 1]), "Cel": (1, ["K": 1]), "rad": (1, ["rad": 1]), "deg": (1, ["rad": 1]),
        "[iU]": (1, ["[iU]": 1]), "U": (1, ["U": 1]), "eq": (1, ["mol": 1]), "[pH]": (1, ["[pH]": 1]),
        "mm[Hg]": (Decimal(string: "133.322") ?? 0, ["g": 1, "m": -1, "s": -2]), "Pa": (1000, ["g": 1, "m": -1, "s": -2]),
        "bar": (100_000_000, ["g": 1, "m": -1, "s": -2]), "kat": (1, ["mol": 1, "s": -1]),
    ]

    private static let prefixes: [(String, Decimal)] = [
        ("da", 10), ("k", 1000), ("h", 100), ("d", Decimal(string: "0.1") ?? 0), ("c", Decimal(string: "0.01") ?? 0),
        ("m", Decimal(string: "0.001") ?? 0), ("u", Decimal(string: "0.000001") ?? 0), ("n", Decimal(string: "0.000000001") ?? 0),
        ("p", Decimal(string: "0.000000000001") ?? 0), ("M", 1_000_000), ("G", 1_000_000_000),
    ]

    init(factor: Decimal, dimensions: [String: Int]) {
        self.factor = factor
        self.dimensions = dimensions.filter { $0.value != 0 }
    }

    init?(_ code: String) {
        var factor: Decimal = 1
        var dimensions: [String: Int] = [:]
        var sign = 1
        var term = ""
        var terms: [(String, Int)] = []
        for character in code {
            if character == "." || character == "/" {
                terms.append((term, sign))
                term = ""
                if character == "/" { sign = -1 }
            } else {
                term.append(character)
            }
        }
        terms.append((term, sign))
        for (text, sign) in terms {
            guard let (f, dims) = Self.term(text) else { return nil }
            if sign > 0 { factor *= f } else { factor /= f }
            for (name, power) in dims { dimensions[name, default: 0] += power * sign }
        }
        self.init(factor: factor, dimensions: dimensions)
    }

    /// One prefixed atom with an optional exponent (`cm2`, `10*-3`, `mg`).
    private static func term(_ text: String) -> (Decimal, [String: Int])? {
        if text.hasPrefix("10*") || text.hasPrefix("10^") {
            guard let exponent = Int(text.dropFirst(3)), abs(exponent) <= 30 else { return nil }
            return (power10(exponent), [:])
        }
        var atom = Substring(text)
        var exponent = 1
        if let last = atom.lastIndex(where: { !($0.isNumber || $0 == "-" || $0 == "+") }), last < atom.index(before: atom.endIndex),
            !atom.hasSuffix("]")
        {
            let digits = atom[atom.index(after: last)...]
            guard let value = Int(digits), abs(value) <= 8 else { return nil }
            exponent = value
            atom = atom[...last]
        }
        func powered(_ f: Decimal, _ dims: [String: Int]) -> (Decimal, [String: Int]) {
            var total: Decimal = 1
            for _ in 0..<abs(exponent) { total *= f }
            if exponent < 0 { total = 1 / total }
            return (total, dims.mapValues { $0 * exponent })
        }
        if let (f, dims) = atoms[String(atom)] { return powered(f, dims) }
        for (prefix, scale) in prefixes where atom.hasPrefix(prefix) {
            if let (f, dims) = atoms[String(atom.dropFirst(prefix.count))], !dims.isEmpty || atom.dropFirst(prefix.count) == "1" {
                return powered(f * scale, dims)
            }
        }
        return nil
    }

    private static func power10(_ exponent: Int) -> Decimal {
        var value: Decimal = 1
        for _ in 0..<abs(exponent) { value *= 10 }
        return exponent < 0 ? 1 / value : value
    }

    /// The canonical unit's code (`m2`, `g/m`, `1`).
    var code: String {
        let names = dimensions.keys.sorted()
        let up = names.filter { (dimensions[$0] ?? 0) > 0 }.map { name in (dimensions[name] ?? 1) == 1 ? name : name + String(dimensions[name] ?? 1) }
        let down = names.filter { (dimensions[$0] ?? 0) < 0 }.map { name in
            (dimensions[name] ?? -1) == -1 ? name : name + String(-(dimensions[name] ?? -1))
        }
        let numerator = up.isEmpty ? "1" : up.joined(separator: ".")
        return down.isEmpty ? numerator : numerator + "/" + down.joined(separator: "/")
    }
}
