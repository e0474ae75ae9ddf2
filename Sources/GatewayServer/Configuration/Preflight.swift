import Foundation
import Logging
import NIOSSL
import PostgresStorage
import Storage

#if canImport(Glibc)
    import Glibc
#endif

/// The checks `serve` runs before it binds, and `check-config` reports: the TLS files usable
/// and the key matching the certificate, the certificates' dates, the store's folder writable by
/// the user the gateway runs as, the pseudonym key readable or creatable, the store not served
/// by another daemon. `check-config` adds probes of the upstream (`UpstreamProbe`).
public enum Preflight {
    /// One problem: the key and file it concerns, what is wrong and how to fix it.
    public struct Finding: Sendable, CustomStringConvertible {
        public enum Level: String, Sendable {
            case error, warning
        }

        public var level: Level
        public var key: String
        public var problem: String
        public var fix: String
        /// Whether `serve` refuses to start on it. An expired server certificate does not stop
        /// it: the outbox still delivers, `/readyz` reports it, and a reload with a new
        /// certificate puts it right.
        public var stopsServe: Bool

        init(_ level: Level, key: String, _ problem: String, fix: String, stopsServe: Bool? = nil) {
            self.level = level
            self.key = key
            self.problem = problem
            self.fix = fix
            self.stopsServe = stopsServe ?? (level == .error)
        }

        public var description: String { "\(level.rawValue): \(key): \(problem); \(fix)" }
    }

    /// Every check `serve` runs before it binds, whether another daemon serves the store now, and
    /// with `network`, the upstream's probe.
    ///   - serviceUser: when run as root, the user whose access to the files is checked
    ///     (the unit's `User=`); nil or a user this machine lacks: not checked.
    ///   - environment: the process's, for `CREDENTIALS_DIRECTORY`.
    public static func run(_ configuration: GatewayConfiguration, network: Bool, serviceUser: String?, environment: [String: String]) async
        -> [Finding]
    {
        var findings = local(configuration).findings
        if geteuid() == 0, let name = serviceUser, let user = ServiceUserAccess(name: name) {
            findings += readable(configuration, by: user, credentials: environment["CREDENTIALS_DIRECTORY"])
        }
        if configuration.postgres == nil, let holder = StoreLock.holder(storePath: configuration.storagePath) {
            findings.append(
                Finding(
                    .warning, key: "storage.path",
                    "a gateway (\(holder)) serves the store \(configuration.storagePath) now; a second serve on it would be refused",
                    fix: "nothing to do if that is the running service; otherwise stop it or set another storage.path"))
        }
        // The SMART key, as serve loads it before it binds.
        var signer: ClientAssertionSigner?
        if let smart = configuration.upstream?.smart {
            do {
                signer = try await ClientAssertionSigner.load(path: smart.jwtSigningKey, keyID: smart.jwtKeyID)
            } catch {
                findings.append(
                    Finding(
                        .error, key: "upstream.jwtSigningKey", "\(smart.jwtSigningKey): \(error.reason)",
                        fix: "point it at a PEM private key: EC P-384 (openssl ecparam -name secp384r1 -genkey -noout) or RSA of 2048 bits or more"))
            }
        }
        if network, let upstream = configuration.upstream {
            findings += await UpstreamProbe.check(upstream, signer: signer, delivery: configuration.delivery)
        }
        if network, let postgres = configuration.postgres {
            findings += await database(postgres)
        }
        return findings
    }

    /// Whether the PostgreSQL database answers and is at a schema this version can use (an older
    /// one is fine: serve migrates it at start).
    static func database(_ settings: PostgresStoreSettings) async -> [Finding] {
        let name = settings.address
        do {
            let store = try PostgresStore(settings: settings, leaseSeconds: 60, logger: Logger(label: "fhir-risk-gateway.check-config"))
            try await store.checkSchema()
            return []
        } catch let mismatch as SchemaVersionError where mismatch.code == .older {
            return []
        } catch let mismatch as SchemaVersionError {
            return [Finding(.error, key: "storage.url", "\(name): \(mismatch)", fix: "run the version that migrated it, or restore the backup taken before the upgrade")]
        } catch {
            return [
                Finding(
                    .error, key: "storage.url", "\(name) cannot be used: \(error)",
                    fix: "check the host, port, user, storage.passwordFile, storage.tls and storage.caCertificate, and that the database exists", stopsServe: false)
            ]
        }
    }

    /// The files the service reads itself, checked for `user`. The server's certificate and key
    /// are left out when they come from systemd's credentials (`LoadCredential=` copies them,
    /// as root, into a folder the service can read).
    static func readable(_ configuration: GatewayConfiguration, by user: ServiceUserAccess, credentials: String?) -> [Finding] {
        var files: [(key: String, path: String?)] = [
            ("tls.clientCA", configuration.tls.clientCA), ("model.path", configuration.modelPath), ("profiles.path", configuration.profilesPath),
            ("upstream.caCertificate", configuration.upstream?.caCertificate),
            ("upstream.clientCertificate", configuration.upstream?.clientCertificate),
            ("upstream.clientPrivateKey", configuration.upstream?.clientPrivateKey),
            ("upstream.bearerTokenFile", configuration.upstream?.bearerTokenFile),
            ("upstream.jwtSigningKey", configuration.upstream?.smart?.jwtSigningKey),
        ]
        for (key, path) in [("tls.certificate", configuration.tls.certificate), ("tls.privateKey", configuration.tls.privateKey)]
        where !(credentials.map { path.hasPrefix($0) } ?? false) && !path.hasPrefix(credentialSourceFolder) {
            files.append((key, path))
        }
        return files.compactMap { key, path in
            guard let path, let problem = user.cannotRead(path) else { return nil }
            return Finding(
                .error, key: key, "\(problem): the service, which runs as \(user.name), would fail to start",
                fix: "give \(user.name)'s group read access (chgrp \(user.name) FILE; chmod 640 FILE), or move the file where it can read it")
        }
    }

    /// Where the unit's `LoadCredential=` takes the server's certificate and key from.
    static let credentialSourceFolder = "/etc/fhir-risk-gateway/tls/"

    /// A certificate due to expire within this many days is a warning.
    static let expiryWarningDays = 30

    /// The local checks, and the server's TLS material when it could be loaded.
    static func local(_ configuration: GatewayConfiguration, now: Date = Date()) -> (findings: [Finding], tls: ServerTLSMaterial?) {
        var findings: [Finding] = []
        var material: ServerTLSMaterial?
        do {
            let loaded = try ServerTLSMaterial.load(configuration.tls)
            material = loaded
            findings += dates(
                key: "tls.certificate", file: configuration.tls.certificate, notBefore: loaded.notBefore, notAfter: loaded.notAfter, now: now,
                consequence: "clients refuse the gateway's certificate")
        } catch {
            findings.append(
                Finding(.error, key: error.key, error.message, fix: "point tls.certificate and tls.privateKey at a PEM certificate and its own key"))
        }
        if let ca = configuration.tls.clientCA {
            findings += certificateFileDates(key: "tls.clientCA", file: ca, now: now, consequence: "client certificates it issued no longer verify")
        }
        if let upstream = configuration.upstream {
            // serve refuses to start without them (exit 78): checked here, not only by the probe.
            do {
                _ = try DeliveryService.tlsConfiguration(upstream)
            } catch {
                findings.append(
                    Finding(
                        .error, key: "upstream", "the upstream's TLS files cannot be used: \(error)",
                        fix: "point upstream.caCertificate, upstream.clientCertificate and upstream.clientPrivateKey at PEM files"))
            }
            if let file = upstream.clientCertificate {
                findings += certificateFileDates(
                    key: "upstream.clientCertificate", file: file, now: now, consequence: "the upstream refuses the gateway's deliveries")
            }
        }
        findings += storage(configuration)
        return (findings, material)
    }

    /// The store's folder and file, the pseudonym key and the store lock.
    static func storage(_ configuration: GatewayConfiguration) -> [Finding] {
        let user = effectiveUser()
        // A PostgreSQL store has no file here: only the pseudonym key is checked.
        if configuration.postgres != nil { return pseudonymKey(configuration, user: user) }
        var findings: [Finding] = []
        let store = configuration.storagePath
        let folder = Self.folder(of: store)
        let fixFolder = "make it writable by \(user) (the user the gateway runs as), or set storage.path to a folder that user can write"
        if !isDirectory(folder) {
            // The daemon creates a missing folder (and its parents) where it may.
            let ancestor = nearestExistingFolder(folder)
            if access(ancestor, W_OK | X_OK) != 0 {
                findings.append(
                    Finding(
                        .error, key: "storage.path", "the folder \(folder) of the store does not exist and \(ancestor) is not writable by \(user)",
                        fix: "create \(folder) owned by \(user) (under systemd, StateDirectory= does), or set storage.path elsewhere"))
            }
            return findings
        }
        if access(folder, W_OK | X_OK) != 0 {
            findings.append(Finding(.error, key: "storage.path", "the folder \(folder) of the store is not writable by \(user)", fix: fixFolder))
            return findings
        }
        if FileManager.default.fileExists(atPath: store), access(store, R_OK | W_OK) != 0 {
            findings.append(
                Finding(.error, key: "storage.path", "the store \(store) cannot be read and written by \(user)", fix: "chown it to \(user)"))
            return findings
        }
        return findings + pseudonymKey(configuration, user: user)
    }

    /// The pseudonym key readable, or its folder writable so that it can be created.
    static func pseudonymKey(_ configuration: GatewayConfiguration, user: String) -> [Finding] {
        var findings: [Finding] = []
        let key = configuration.pseudonymKeyFile
        if FileManager.default.fileExists(atPath: key) {
            if access(key, R_OK) != 0 {
                findings.append(
                    Finding(.error, key: "logging.pseudonymKeyFile", "the pseudonym key \(key) cannot be read by \(user)", fix: "chown it to \(user)"))
            }
        } else if access(nearestExistingFolder(Self.folder(of: key)), W_OK | X_OK) != 0 {
            // The daemon creates the key, and its folder where it may.
            findings.append(
                Finding(
                    .error, key: "logging.pseudonymKeyFile",
                    "the pseudonym key \(key) does not exist and its folder is not writable by \(user), so it cannot be created",
                    fix: "create the folder writable by \(user), or point logging.pseudonymKeyFile at an existing key"))
        }
        return findings
    }

    /// The dates of the first certificate in a PEM file.
    static func certificateFileDates(key: String, file: String, now: Date, consequence: String) -> [Finding] {
        guard let first = try? NIOSSLCertificate.fromPEMFile(file).first else {
            return [Finding(.error, key: key, "\(file) holds no PEM certificate", fix: "point \(key) at a PEM certificate")]
        }
        return dates(
            key: key, file: file, notBefore: Date(timeIntervalSince1970: TimeInterval(first.notValidBefore)),
            notAfter: Date(timeIntervalSince1970: TimeInterval(first.notValidAfter)), now: now, consequence: consequence)
    }

    /// Expired or not yet valid: an error; expiring within `expiryWarningDays`: a warning.
    static func dates(key: String, file: String, notBefore: Date, notAfter: Date, now: Date, consequence: String)
        -> [Finding]
    {
        let renew = "install a renewed certificate in \(file) and reload or restart the gateway"
        if now > notAfter {
            return [
                Finding(
                    .error, key: key, "the certificate in \(file) expired on \(day(notAfter)): \(consequence)", fix: renew,
                    stopsServe: false)
            ]
        }
        if now < notBefore {
            return [
                Finding(
                    .error, key: key, "the certificate in \(file) is not valid before \(day(notBefore)): \(consequence) until then",
                    fix: "check the clock of this machine, or install a certificate valid now", stopsServe: false)
            ]
        }
        let days = Int(notAfter.timeIntervalSince(now) / 86_400)
        if days < expiryWarningDays {
            return [Finding(.warning, key: key, "the certificate in \(file) expires in \(days) days, on \(day(notAfter))", fix: renew)]
        }
        return []
    }

    static func day(_ date: Date) -> String {
        String(ISO8601DateFormatter.string(from: date, timeZone: TimeZone(identifier: "UTC") ?? .current, formatOptions: [.withFullDate]))
    }

    static func folder(of path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }

    static func nearestExistingFolder(_ path: String) -> String {
        var folder = path
        while !isDirectory(folder), folder != "/", folder != "." {
            folder = Self.folder(of: folder)
        }
        return folder
    }

    static func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }

    /// `name (uid N)` of the effective user.
    static func effectiveUser() -> String {
        let uid = geteuid()
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "uid \(uid)" }
        return "\(String(cString: name)) (uid \(uid))"
    }
}
