import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real PostgreSQL server for the tests: Debian's binaries (the newest
/// `/usr/lib/postgresql/<version>/bin`, or `POSTGRES_BIN_DIR`), a cluster made by `initdb` in a
/// fresh temporary folder and started by `pg_ctl` on a free loopback port. Never the system
/// service, never systemd.
///
/// The cluster listens on 127.0.0.1 only (and on a Unix socket in its own folder), with `trust`
/// authentication, or `scram-sha-256` over TCP when a password is given; `fsync` and
/// `synchronous_commit` are on, so a commit the server acknowledged survives `stopServer()`
/// (an immediate shutdown, recovered like a crash at the next start). TLS is off.
///
/// PostgreSQL refuses to run as root: when the tests run as root, the server binaries run as
/// `nobody:nogroup` through `setpriv`, and the folder belongs to that user. The clients (`psql`,
/// `pg_isready`) run as the test process.
///
/// The calls block (they run `initdb`, `pg_ctl`, `psql` to their end, with deadlines); an async
/// test calls them as it is. One server per test: each has its own folder and port, so tests
/// running in parallel do not share anything.
///
/// ```swift
/// try withPostgres { server in
///     // server.url == "postgres://gateway_test@127.0.0.1:<port>/gateway_test"
///     try server.stopServer()   // the database goes away …
///     try server.startServer()  // … and comes back on the same port with the same data
/// }
/// ```
public final class PostgresServer: Sendable {
    /// What to create.
    public struct Options: Sendable {
        /// The superuser `initdb` creates (letters, digits and `_`).
        public var user: String
        /// The database created for the test (letters, digits and `_`); `postgres` creates none.
        public var database: String
        /// nil: `trust` on the loopback address and the socket. Otherwise the superuser's
        /// password, required over TCP (`scram-sha-256`); the socket stays `trust`.
        public var password: String?
        /// More server settings, each passed as `-c name=value` (for example `max_connections`).
        public var settings: [String: String]
        /// The deadline of each step: `initdb`, a start, a stop, a query.
        public var timeout: Duration

        public init(
            user: String = "gateway_test",
            database: String = "gateway_test",
            password: String? = nil,
            settings: [String: String] = [:],
            timeout: Duration = .seconds(60)
        ) {
            self.user = user
            self.database = database
            self.password = password
            self.settings = settings
            self.timeout = timeout
        }
    }

    /// Why the server could not be made, started, stopped or queried; says what the command or
    /// the server's log said.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// The start failed because another process took the port.
        var portTaken = false
    }

    public let host = "127.0.0.1"
    public let port: Int
    public let user: String
    public let password: String?
    public let database: String
    /// The temporary folder: `data` (the cluster), `server.log`, the Unix socket.
    public let directory: URL
    /// The folder of `initdb`, `pg_ctl`, `postgres`, `psql`.
    public let binDirectory: URL
    private let settings: [String: String]
    private let timeout: Duration
    /// Serialises the starts and stops of this server.
    private let lock = Mutex(())
    /// Set when `start` hands the server out: from then on, `deinit` stops it.
    private let handedOut = Atomic(false)

    public var dataDirectory: URL { directory.appendingPathComponent("data") }
    public var logFile: URL { directory.appendingPathComponent("server.log") }

    /// `postgres://user[:password]@127.0.0.1:port/database`, the user and password
    /// percent-encoded; the server has no TLS, so a client connects without it.
    public var url: String { url(database: database) }

    /// `url` with another database (`postgres`, or one a test creates).
    public func url(database: String) -> String {
        // Only unreserved characters stay as they are (a `:` or `@` in a password is encoded too).
        let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        var components = URLComponents()
        components.scheme = "postgres"
        components.percentEncodedUser = user.addingPercentEncoding(withAllowedCharacters: unreserved)
        components.percentEncodedPassword = password?.addingPercentEncoding(withAllowedCharacters: unreserved)
        components.host = host
        components.port = port
        components.path = "/" + database
        return components.string ?? "postgres://\(user)@\(host):\(port)/\(database)"
    }

    /// The server's log so far (empty when it cannot be read).
    public var log: String {
        (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
    }

    /// The postmaster's pid while it runs (from `data/postmaster.pid`); nil when it is stopped.
    public var postmasterPID: Int32? {
        guard let text = try? String(contentsOf: dataDirectory.appendingPathComponent("postmaster.pid"), encoding: .utf8),
            let line = text.split(separator: "\n").first, let pid = Int32(line.trimmingCharacters(in: .whitespaces)),
            isPostmasterAlive(pid)
        else { return nil }
        return pid
    }

    public var isRunning: Bool { postmasterPID != nil }

    /// Whether `pid` is this server's postmaster and has not exited. An exited postmaster that its
    /// new parent (init) has not reaped yet counts as gone, and so does a pid reused by another
    /// process.
    public func isPostmasterAlive(_ pid: Int32) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
            #if os(Linux)
                return false
            #else
                return kill(pid, 0) == 0
            #endif
        }
        // A zombie's command line is empty; the postmaster's holds `-D <data folder>`.
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return arguments.contains(dataDirectory.path)
    }

    private init(directory: URL, binDirectory: URL, port: Int, options: Options) {
        self.directory = directory
        self.binDirectory = binDirectory
        self.port = port
        self.user = options.user
        self.password = options.password
        self.database = options.database
        self.settings = options.settings
        self.timeout = options.timeout
    }

    /// A server that is not stopped by then is stopped, and its folder removed, when the last
    /// reference goes.
    deinit {
        if handedOut.load(ordering: .acquiring) { stop() }
    }

    // MARK: - Lifecycle

    /// Makes a cluster in a new temporary folder, starts it on a free loopback port (another one
    /// when a process takes the port first), waits until it accepts connections, and creates the
    /// database. Pair with `stop()`, or use `withPostgres`.
    public static func start(_ options: Options = Options()) throws -> PostgresServer {
        for name in [options.user, options.database] where name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) {
            throw Failure(description: "PostgresServer: \(name.debugDescription) is not a plain identifier")
        }
        let binDirectory = try Self.binDirectory()
        let directory = try Self.makeDirectory()
        do {
            try initdb(directory: directory, binDirectory: binDirectory, options: options)
            var attempt = 1
            while true {
                let server = PostgresServer(directory: directory, binDirectory: binDirectory, port: try freePort(), options: options)
                do {
                    try server.startServer()
                    try server.createDatabase()
                } catch let failure as Failure where failure.portTaken && attempt < 5 {
                    // A postmaster that cannot bind exits by itself.
                    attempt += 1
                    continue
                } catch {
                    server.stop()
                    throw error
                }
                server.handedOut.store(true, ordering: .releasing)
                return server
            }
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Starts the cluster again (same folder, same port) after `stopServer()`, and waits until it
    /// accepts connections; nothing when it runs. Throws when the port has been taken meanwhile.
    public func startServer() throws {
        try lock.withLock { _ in
            guard postmasterPID == nil else { return }
            let deadline = ContinuousClock.now + timeout
            let logSize = (try? FileManager.default.attributesOfItem(atPath: logFile.path)[.size] as? Int) ?? 0
            var serverOptions = "-c listen_addresses=\(host) -p \(port) -k \(Self.shellQuoted(directory.path)) -c fsync=on -c synchronous_commit=on"
            for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
                serverOptions += " -c " + Self.shellQuoted("\(name)=\(value)")
            }
            let started = try runServerTool(
                "pg_ctl",
                ["start", "-w", "-t", "\(Self.seconds(timeout))", "-D", dataDirectory.path, "-l", logFile.path, "-o", serverOptions]
            )
            guard started.status == 0 else {
                let newLog = String(decoding: Array(log.utf8.dropFirst(logSize)), as: UTF8.self)
                throw Failure(
                    description: "PostgresServer: pg_ctl start on port \(port) failed (\(started.status)): \(started.text)\n\(newLog.suffix(2000))",
                    portTaken: newLog.contains("Address already in use")
                )
            }
            // pg_ctl -w waits for the postmaster; this waits for the TCP listener too.
            while true {
                let ready = try Self.run(
                    [binDirectory.appendingPathComponent("pg_isready").path, "-q", "-h", host, "-p", "\(port)", "-U", user, "-d", "postgres", "-t", "2"],
                    environment: clientEnvironment,
                    in: directory,
                    timeout: .seconds(10)
                )
                if ready.status == 0 { return }
                guard ContinuousClock.now < deadline else {
                    throw Failure(description: "PostgresServer: not accepting connections on port \(port) in time\n\(log.suffix(2000))")
                }
                usleep(50_000)
            }
        }
    }

    /// Stops the cluster at once (`pg_ctl stop -m immediate`, like a crash: the next start
    /// recovers it from the WAL), and returns when the postmaster has exited; its pid is killed
    /// when `pg_ctl` does not stop it. Nothing when it is stopped. The folder stays for
    /// `startServer()`.
    public func stopServer() throws {
        try lock.withLock { _ in
            guard let pid = postmasterPID else { return }
            let stopped = try? runServerTool("pg_ctl", ["stop", "-w", "-t", "\(Self.seconds(timeout))", "-m", "immediate", "-D", dataDirectory.path])
            if waitUntilGone(pid, within: .seconds(10)) { return }
            // pg_ctl could not: the postmaster's own immediate shutdown, then SIGKILL.
            kill(pid, SIGQUIT)
            if waitUntilGone(pid, within: .seconds(10)) { return }
            kill(pid, SIGKILL)
            if waitUntilGone(pid, within: .seconds(10)) { return }
            throw Failure(description: "PostgresServer: postmaster \(pid) still runs after pg_ctl stop (\(stopped?.text ?? "did not run")) and SIGKILL")
        }
    }

    /// Stops the server (as `stopServer()`, and by its pid when that fails) and removes its
    /// folder. Safe to call more than once; the server cannot start again.
    public func stop() {
        do {
            try stopServer()
        } catch {
            if let pid = postmasterPID { kill(pid, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: - Queries

    /// Runs `sql` with `psql` over TCP, connecting with `url` (or to `database`), unaligned and
    /// without headers: one line per row, columns separated by `|`. The output without its last
    /// newline; throws with psql's error when psql fails (a refused connection included).
    public func psql(_ sql: String, database: String? = nil) throws -> String {
        let result = try Self.run(
            [binDirectory.appendingPathComponent("psql").path, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url(database: database ?? self.database), "-c", sql],
            environment: clientEnvironment,
            in: directory,
            timeout: timeout
        )
        guard result.status == 0 else {
            throw Failure(description: "PostgresServer: psql failed (\(result.status)): \(result.text)")
        }
        var output = result.standardOutput
        if output.hasSuffix("\n") { output.removeLast() }
        return output
    }

    private func createDatabase() throws {
        guard database != "postgres" else { return }
        _ = try psql("CREATE DATABASE \"\(database)\"", database: "postgres")
    }

    private var clientEnvironment: [String: String] {
        ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PGCONNECT_TIMEOUT": "5", "PGSSLMODE": "disable", "PGAPPNAME": "PostgresServer"]
    }

    private func waitUntilGone(_ pid: Int32, within duration: Duration) -> Bool {
        let deadline = ContinuousClock.now + duration
        while isPostmasterAlive(pid) {
            guard ContinuousClock.now < deadline else { return false }
            usleep(10_000)
        }
        return true
    }

    // MARK: - Making the cluster

    /// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb`, or `POSTGRES_BIN_DIR`.
    static func binDirectory() throws -> URL {
        if let override = ProcessInfo.processInfo.environment["POSTGRES_BIN_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .filter { FileManager.default.isExecutableFile(atPath: "\(root)/\($0)/bin/initdb") }
            .sorted { $0.compare($1, options: .numeric) == .orderedDescending }
        guard let newest = versions.first else {
            throw Failure(description: "PostgresServer: no PostgreSQL server in \(root) (scripts/install-deps.sh installs Debian's postgresql)")
        }
        return URL(fileURLWithPath: "\(root)/\(newest)/bin")
    }

    /// A new folder, private to the user the server runs as.
    private static func makeDirectory() throws -> URL {
        let template = FileManager.default.temporaryDirectory.appendingPathComponent("postgres-test.XXXXXX").path
        var bytes = Array(template.utf8CString)
        guard mkdtemp(&bytes) != nil else {
            throw Failure(description: "PostgresServer: cannot create a folder like \(template): \(String(cString: strerror(errno)))")
        }
        let path = String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if let account = serverAccount {
            guard chown(path, account.uid, account.gid) == 0, chmod(path, 0o700) == 0 else {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(atPath: path)
                throw Failure(description: "PostgresServer: cannot give \(path) to uid \(account.uid): \(reason)")
            }
        }
        return URL(fileURLWithPath: path)
    }

    private static func initdb(directory: URL, binDirectory: URL, options: Options) throws {
        var arguments = [
            "-D", directory.appendingPathComponent("data").path, "-U", options.user, "-E", "UTF8", "--locale=C.UTF-8",
            "--no-instructions",
            // The cluster is thrown away after the test; the server itself runs with fsync on.
            "--no-sync",
        ]
        let passwordFile = directory.appendingPathComponent("password")
        if let password = options.password {
            try Data(password.utf8).write(to: passwordFile)
            _ = chmod(passwordFile.path, 0o644)
            arguments += ["--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=\(passwordFile.path)"]
        } else {
            arguments += ["--auth=trust"]
        }
        defer { try? FileManager.default.removeItem(at: passwordFile) }
        let result = try run(
            serverCommand(binDirectory.appendingPathComponent("initdb").path, arguments),
            environment: serverEnvironment(directory),
            in: directory,
            timeout: options.timeout
        )
        guard result.status == 0 else {
            throw Failure(description: "PostgresServer: initdb failed (\(result.status)): \(result.text)")
        }
    }

    private func runServerTool(_ name: String, _ arguments: [String]) throws -> CommandResult {
        try Self.run(
            Self.serverCommand(binDirectory.appendingPathComponent(name).path, arguments),
            environment: Self.serverEnvironment(directory),
            in: directory,
            // pg_ctl's own -t deadline comes first.
            timeout: timeout + .seconds(10)
        )
    }

    /// The user the server binaries run as: nil when the tests do not run as root.
    private struct Account: Sendable {
        var uid: uid_t
        var gid: gid_t
    }

    private static let serverAccount: Account? = {
        guard geteuid() == 0 else { return nil }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r("nobody", &entry, &buffer, buffer.count, &result) == 0, result != nil else {
            // The conventional ids of nobody and nogroup on Debian.
            return Account(uid: 65534, gid: 65534)
        }
        return Account(uid: entry.pw_uid, gid: entry.pw_gid)
    }()

    /// `executable arguments`, through `setpriv` as the unprivileged account when the tests run as root.
    private static func serverCommand(_ executable: String, _ arguments: [String]) -> [String] {
        guard let account = serverAccount else { return [executable] + arguments }
        return ["/usr/bin/setpriv", "--reuid=\(account.uid)", "--regid=\(account.gid)", "--clear-groups", executable] + arguments
    }

    private static func serverEnvironment(_ directory: URL) -> [String: String] {
        ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC", "HOME": directory.path]
    }

    private static func seconds(_ duration: Duration) -> Int64 {
        max(1, duration.components.seconds)
    }

    /// `text` as one word for /bin/sh (pg_ctl hands `-o` to the shell).
    private static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    /// A port nothing listens on now (bound on loopback, then released).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "PostgresServer: socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw Failure(description: "PostgresServer: bind: \(String(cString: strerror(errno)))") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    // MARK: - Running the tools

    struct CommandResult: Sendable {
        var status: Int32
        var standardOutput: String
        var standardError: String
        /// Both outputs, for error messages.
        var text: String { (standardOutput + standardError).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Runs `arguments[0]` (an absolute path) in `directory` to its end, its outputs kept in files
    /// there, and kills it at the deadline. Spawned and reaped by pid, not with Foundation's
    /// Process: `pg_ctl start` leaves the postmaster running with the descriptors it inherited,
    /// and Process waits for the socket it passes to its child to close, that is for the
    /// postmaster's exit. The child inherits no descriptor beyond 0–2 either, so the postmaster
    /// never holds another test's pipe or socket open.
    static func run(_ arguments: [String], environment: [String: String], in directory: URL, timeout: Duration) throws -> CommandResult {
        let name = UUID().uuidString
        let outputPath = directory.appendingPathComponent(".stdout-\(name)").path
        let errorPath = directory.appendingPathComponent(".stderr-\(name)").path
        defer {
            unlink(outputPath)
            unlink(errorPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        SpawnActions.closeInheritedDescriptors(&actions)
        SpawnActions.changeDirectory(&actions, to: directory.path)
        // The test runner's threads block most signals, and a spawned child inherits the mask:
        // start it with none blocked and every signal at its default action.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        guard let executable = arguments.first else { throw Failure(description: "PostgresServer: no command") }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw Failure(description: "PostgresServer: cannot run \(executable): \(String(cString: strerror(spawned)))")
        }
        let deadline = ContinuousClock.now + timeout
        var raw: Int32 = 0
        while true {
            let reaped = waitpid(pid, &raw, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR {
                throw Failure(description: "PostgresServer: waitpid \(executable): \(String(cString: strerror(errno)))")
            }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &raw, 0)
                throw Failure(description: "PostgresServer: \(arguments.joined(separator: " ")) did not finish within \(timeout)")
            }
            usleep(5_000)
        }
        // Exited: its code; killed: 128 + the signal's number, as a shell reports it.
        let status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        func contents(_ path: String) -> String {
            FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        return CommandResult(status: status, standardOutput: contents(outputPath), standardError: contents(errorPath))
    }
}

/// Starts a `PostgresServer`, runs `body` with it, and stops it and removes its folder however
/// `body` ends.
public func withPostgres<Result>(
    _ options: PostgresServer.Options = PostgresServer.Options(),
    _ body: (PostgresServer) throws -> Result
) throws -> Result {
    let server = try PostgresServer.start(options)
    defer { server.stop() }
    return try body(server)
}

/// Starts a `PostgresServer`, runs `body` with it, and stops it and removes its folder however
/// `body` ends.
public func withPostgres<Result>(
    _ options: PostgresServer.Options = PostgresServer.Options(),
    isolation: isolated (any Actor)? = #isolation,
    _ body: (PostgresServer) async throws -> Result
) async throws -> Result {
    let server = try PostgresServer.start(options)
    defer { server.stop() }
    return try await body(server)
}
