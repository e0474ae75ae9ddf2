// The R4 Observation invariants (obs-3, obs-6, obs-7, ele-1) evaluated by the FHIRPath engine on
// Observation examples: median time per evaluation over rounds. Build in release:
//   swift build -c release --product FHIRPathBenchmarks && .build/release/FHIRPathBenchmarks <R4 dir>
import FHIRCore
import FHIRPath
import Foundation

let directory = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Tests/Fixtures/fhir-examples/R4"
let rounds = 21
let repeats = 2000

let invariants: [(name: String, text: String, context: String)] = [
    ("obs-3", "low.exists() or high.exists() or text.exists()", "referenceRange"),
    ("obs-6", "dataAbsentReason.empty() or value.empty()", "resource"),
    ("obs-7", "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()", "resource"),
    ("ele-1", "hasValue() or (children().count() > id.count())", "code"),
]

let names = ["Observation-example.json", "Observation-f001.json", "Observation-blood-pressure.json"]
let reader = FHIRReader()
var observations: [FHIRNode] = []
for name in names {
    guard let data = FileManager.default.contents(atPath: directory + "/" + name), let node = reader.read(Array(data)).resource else {
        print("Cannot read \(directory)/\(name)")
        exit(1)
    }
    observations.append(node)
}

/// The nodes an invariant is evaluated on: the resource, or its children of one element.
func contexts(_ observation: FHIRNode, _ element: String) -> [FHIRNode] {
    element == "resource" ? [observation] : observation.children(named: element)
}

func median(_ body: () throws -> Int) rethrows -> (seconds: Double, evaluations: Int) {
    var times: [Double] = []
    var evaluations = 0
    for _ in 0..<rounds {
        let start = DispatchTime.now().uptimeNanoseconds
        evaluations = try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return (times.sorted()[rounds / 2], evaluations)
}

// PROFILE=N evaluates one invariant N times where it applies in the first Observation, for a
// profiler (PROFILE_INVARIANT=obs-3|obs-6|obs-7|ele-1; ele-1, the default, on every element).
if let count = ProcessInfo.processInfo.environment["PROFILE"].flatMap(Int.init), let observation = observations.first {
    let key = ProcessInfo.processInfo.environment["PROFILE_INVARIANT"] ?? "ele-1"
    guard let invariant = invariants.first(where: { $0.name == key }) else {
        print("Unknown invariant \(key)")
        exit(1)
    }
    let expression = try FHIRPathExpression(invariant.text)
    var nodes: [FHIRNode] = []
    func collect(_ node: FHIRNode) {
        if !node.isResource { nodes.append(node) }
        node.children.forEach(collect)
    }
    if key == "ele-1" { collect(observation) } else { nodes = contexts(observation, invariant.context) }
    let environment = FHIRPathEnvironment(resource: observation)
    var satisfied = 0
    for _ in 0..<count {
        for node in nodes where try expression.isSatisfied(by: node, environment: environment) == true { satisfied += 1 }
    }
    print("\(key): \(nodes.count) nodes, \(satisfied) satisfied")
    exit(0)
}

print("FHIRPath invariants on \(names.joined(separator: ", ")); \(rounds) rounds of \(repeats) repeats, median")
var totalPerObservation = 0.0
for invariant in invariants {
    let expression = try FHIRPathExpression(invariant.text)
    // The focus nodes and environments are made outside the timed loop: only evaluation counts.
    let targets: [(node: FHIRNode, environment: FHIRPathEnvironment)] = observations.flatMap { observation in
        contexts(observation, invariant.context).map { ($0, FHIRPathEnvironment(resource: observation)) }
    }
    var satisfied = 0
    let (seconds, evaluations) = try median {
        for _ in 0..<repeats {
            for target in targets where try expression.isSatisfied(by: target.node, environment: target.environment) != false {
                satisfied += 1
            }
        }
        return repeats * targets.count
    }
    let perEvaluation = seconds / Double(max(1, evaluations)) * 1e9
    totalPerObservation += seconds / Double(repeats * observations.count) * 1e9
    let label = "\(invariant.name) (\(invariant.context))".padding(toLength: 24, withPad: " ", startingAt: 0)
    print(label + String(format: "%9.0f ns/evaluation  (%d evaluations per round, %d satisfied)", perEvaluation, evaluations, satisfied / rounds))
}
print(String(format: "All four per Observation (as contexts occur): %.2f µs", totalPerObservation / 1000))

// ele-1 applies to every element: evaluated on each element of each Observation.
do {
    let expression = try FHIRPathExpression(invariants[3].text)
    var targets: [(node: FHIRNode, environment: FHIRPathEnvironment)] = []
    func collect(_ node: FHIRNode, _ observation: FHIRNode) {
        if !node.isResource { targets.append((node, FHIRPathEnvironment(resource: observation))) }
        for child in node.children { collect(child, observation) }
    }
    for observation in observations { collect(observation, observation) }
    let (seconds, evaluations) = try median {
        for _ in 0..<(repeats / 10) {
            for target in targets where try expression.isSatisfied(by: target.node, environment: target.environment) == false { exit(1) }
        }
        return repeats / 10 * targets.count
    }
    let perObservation = seconds / Double(repeats / 10 * observations.count) * 1e6
    print(
        String(
            format: "ele-1 on every element: %.0f ns/evaluation, %.1f elements and %.2f µs per Observation", seconds / Double(evaluations) * 1e9,
            Double(targets.count) / Double(observations.count), perObservation))
}

// Parsing, for comparison: once per expression at start-up.
let (parseSeconds, parses) = try median {
    for _ in 0..<repeats { for invariant in invariants { _ = try FHIRPathExpression(invariant.text) } }
    return repeats * invariants.count
}
print(String(format: "Parsing: %.2f µs per expression", parseSeconds / Double(parses) * 1e6))
