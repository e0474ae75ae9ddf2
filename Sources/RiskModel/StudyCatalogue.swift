import FHIRCore
import FHIRModels
import Foundation

/// The ImagingStudies among a patient's resources, each with whether it may be scored, and which
/// one is the patient's baseline (pure: the time is passed in).
struct StudyCatalogue {
    /// Whether a study may be the case's study, and if not, why.
    enum Standing: Sendable, Equatable {
        case usable
        /// `entered-in-error` or `cancelled`.
        case withdrawn(String)
        case notMR
        /// No `started`: the study cannot be placed in time (baseline, age).
        case undated
        /// It started this many days before it arrived.
        case tooOld(days: Int)
    }

    struct Study {
        let index: Int
        let study: ImagingStudy
        let subject: String?
        /// The DICOM Study Instance UID (`identifier` with system `urn:dicom:uid`).
        let uid: String?
        /// Day number (days since 1970-01-01) of `started`.
        let startedDay: Int?
        let standing: Standing
    }

    static let dcm = "http://dicom.nema.org/resources/ontology/DCM"

    private(set) var studies: [Int: Study] = [:]
    private var byUID: [String: Int] = [:]

    init(resources: CaseResources, policy: CasePolicy, now: Date) {
        let today = Self.dayNumber(now)
        for (index, entry) in resources.entries.enumerated() {
            guard case .imagingStudy(let study) = entry.resource else { continue }
            let uid = study.identifier.first { $0.system?.value == "urn:dicom:uid" }?.value?.value
            let started = study.started?.value.flatMap { Self.dayNumber($0.fhirText) }
            let arrived = entry.receivedAt.map(Self.dayNumber) ?? today
            let standing: Standing
            let status = study.status.value ?? ""
            if status == "entered-in-error" || status == "cancelled" {
                standing = .withdrawn(status)
            } else if !Self.isMR(study) {
                standing = .notMR
            } else if let started {
                standing = arrived - started > policy.maxStudyAgeDays ? .tooOld(days: arrived - started) : .usable
            } else {
                standing = .undated
            }
            studies[index] = Study(
                index: index, study: study, subject: study.subject.reference?.value, uid: uid, startedDay: started, standing: standing)
            if let uid, byUID[uid] == nil { byUID[uid] = index }
        }
    }

    subscript(index: Int) -> Study? { studies[index] }

    func index(uid: String) -> Int? { byUID[uid] }

    /// The patient's baseline: the earliest usable MR study (the latest under `baseline: latest`);
    /// ties go to the one given first.
    func baseline(of subject: String, policy: CasePolicy) -> Int? {
        let usable = studies.values.filter { $0.subject == subject && $0.standing == .usable }
            .sorted { ($0.startedDay ?? 0, $0.index) < ($1.startedDay ?? 0, $1.index) }
        return policy.baseline == .earliest ? usable.first?.index : usable.last?.index
    }

    /// The patient's usable MR studies, for matching an unlinked observation by day.
    func usable(of subject: String) -> [Study] {
        studies.values.filter { $0.subject == subject && $0.standing == .usable }
    }

    static func isMR(_ study: ImagingStudy) -> Bool {
        let codings = study.modality + study.series.map(\.modality)
        return codings.contains { $0.system?.value == dcm && $0.code?.value == "MR" }
    }

    /// Days since 1970-01-01 of a FHIR date or dateTime's calendar day, as written (the sender's
    /// day; a time zone moves it by at most one, which no rule here depends on).
    static func dayNumber(_ text: String) -> Int? {
        guard text.utf8.count >= 10, let date = FHIRTemporal.date(String(text.prefix(10))), let y = date.year, let m = date.month,
            let d = date.day
        else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm).
        let year = m <= 2 ? y - 1 : y
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func dayNumber(_ date: Date) -> Int {
        Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }
}
