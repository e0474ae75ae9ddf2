import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Whether the service's user can read the files the configuration names, told from their
/// owners and modes (and every folder above them) when `check-config` runs as root: root reads
/// everything, the service does not.
struct ServiceUserAccess {
    let name: String
    let uid: uid_t
    let groups: Set<gid_t>

    /// The user, if it exists on this machine.
    init?(name: String) {
        guard let entry = getpwnam(name) else { return nil }
        self.name = name
        uid = entry.pointee.pw_uid
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, entry.pointee.pw_gid, &list, &count) < 0 {
            list = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(name, entry.pointee.pw_gid, &list, &count)
        }
        groups = Set(list.prefix(Int(max(0, count)))).union([entry.pointee.pw_gid])
    }

    /// Why the user cannot read `path` (a file, or a folder to list), or nil when it can.
    func cannotRead(_ path: String) -> String? {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var folder = (absolute as NSString).deletingLastPathComponent
        var folders: [String] = []
        while !folder.isEmpty {
            folders.append(folder)
            if folder == "/" { break }
            folder = (folder as NSString).deletingLastPathComponent
        }
        for folder in folders.reversed() where !allowed(folder, S_IXUSR, S_IXGRP, S_IXOTH) {
            return "the folder \(folder) is not open to \(name) (\(describe(folder)))"
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else { return nil }
        let readable = allowed(absolute, S_IRUSR, S_IRGRP, S_IROTH)
            && (!isDirectory.boolValue || allowed(absolute, S_IXUSR, S_IXGRP, S_IXOTH))
        return readable ? nil : "\(absolute) cannot be read by \(name) (\(describe(absolute)))"
    }

    private func allowed(_ path: String, _ user: mode_t, _ group: mode_t, _ other: mode_t) -> Bool {
        guard let owner = Self.owner(path) else { return true }  // a missing file is reported elsewhere
        if owner.uid == uid { return owner.mode & user != 0 }
        if groups.contains(owner.gid) { return owner.mode & group != 0 }
        return owner.mode & other != 0
    }

    /// The owner, group and permission bits of a file.
    private static func owner(_ path: String) -> (uid: uid_t, gid: gid_t, mode: mode_t)? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let uid = (attributes[.ownerAccountID] as? NSNumber)?.uint32Value,
            let gid = (attributes[.groupOwnerAccountID] as? NSNumber)?.uint32Value,
            let mode = (attributes[.posixPermissions] as? NSNumber)?.uint32Value
        else { return nil }
        return (uid_t(uid), gid_t(gid), mode_t(mode))
    }

    /// `0640 root:fhir-risk-gateway`
    private func describe(_ path: String) -> String {
        guard let owner = Self.owner(path) else { return "?" }
        let user = getpwuid(owner.uid).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "\(owner.uid)"
        let group = getgrgid(owner.gid).flatMap { $0.pointee.gr_name.map { String(cString: $0) } } ?? "\(owner.gid)"
        return "0" + String(owner.mode & 0o7777, radix: 8) + " \(user):\(group)"
    }
}
