import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import TestSupport
import RiskModel
import Testing

@testable import GatewayServer

/// The small pieces behind the log, the metrics and reloads.
struct OperationsPiecesTests {
    struct Described: Error, CustomStringConvertible {
        var description: String
    }

    @Test func handshakeFailuresAreSortedIntoFewCategoriesWithBoringSSLsReason() {
        let noCertificate = TLSHandshakeFailure(
            Described(
                description:
                    "handshakeFailed(sslError([Error: 268435646 error:100000c0:SSL routines:OPENSSL_internal:PEER_DID_NOT_RETURN_A_CERTIFICATE]))"))
        #expect(noCertificate.category == .clientCertificate)
        #expect(noCertificate.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE")
        #expect(TLSHandshakeFailure(Described(description: "x OPENSSL_internal:HTTP_REQUEST at y")).category == .notTLS)
        #expect(TLSHandshakeFailure(NIOSSLError.uncleanShutdown).category == .closed)
        #expect(TLSHandshakeFailure(Described(description: "something else")).category == .other)
    }

    @Test func casePseudonymsAreStableUnderOneKeyAndDifferUnderAnother() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pseudonym-\(UUID().uuidString)")
        let path = folder.appendingPathComponent("state/pseudonym.key").path
        let first = try CasePseudonym.load(path: path)
        let again = try CasePseudonym.load(path: path)
        let identifier = "urn:uuid:6f1c1f8e-3c1b-5d2e-9a4b-2f0e1d3c4b5a"
        #expect(first.id(for: identifier) == again.id(for: identifier))
        #expect(first.id(for: identifier).count == 16 && first.id(for: identifier).allSatisfy(\.isHexDigit))
        #expect(first.id(for: identifier) != first.id(for: identifier + "0"))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let other = try CasePseudonym.load(path: folder.appendingPathComponent("other.key").path)
        #expect(other.id(for: identifier) != first.id(for: identifier))
    }

    @Test func aShortPseudonymKeyIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("short-\(UUID().uuidString).key").path
        FileManager.default.createFile(atPath: path, contents: Data("too short".utf8))
        #expect(throws: PseudonymKeyError.self) { try CasePseudonym.load(path: path) }
    }

    @Test func aKeyThatDoesNotBelongToTheCertificateIsRefusedAtLoad() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        let status = try runScript(["scripts/dev-certificates.sh", folder.path])
        #expect(status == 0)
        let good = GatewayConfiguration.TLS(
            certificate: folder.appendingPathComponent("server.crt").path, privateKey: folder.appendingPathComponent("server.key").path,
            clientCA: nil, allowedClientNames: [])
        let material = try ServerTLSMaterial.load(good)
        #expect(material.isValid(at: Date()))
        #expect(!material.isValid(at: Date().addingTimeInterval(400 * 86_400)))
        // A client CA that is no certificate, or a file without one, is named by its key.
        for notACertificate in [folder.appendingPathComponent("server.key").path, "/dev/null"] {
            var wrongCA = good
            wrongCA.clientCA = notACertificate
            #expect {
                try ServerTLSMaterial.load(wrongCA)
            } throws: { error in
                "\(error)".hasPrefix("tls.clientCA: \(notACertificate)")
            }
        }
        var mismatched = good
        mismatched.privateKey = folder.appendingPathComponent("client.key").path
        #expect {
            try ServerTLSMaterial.load(mismatched)
        } throws: { error in
            "\(error)".contains("does not belong to the certificate")
        }
    }

    @Test func onlyRestartOnlyKeysAreReportedAsNeedingARestart() throws {
        let base = GatewayConfiguration(
            server: .init(host: "127.0.0.1", port: 8443),
            tls: .init(certificate: "a", privateKey: "b", clientCA: nil, allowedClientNames: []),
            storagePath: "/s", retentionDays: 7, upstream: nil, metrics: .init(host: "127.0.0.1", port: 9464),
            connections: .init(apiMax: nil, operationsMax: 16, tlsHandshakeTimeoutSeconds: 10, requestHeaderTimeoutSeconds: 30), modelPath: "m", profilesPath: "p",
            limits: .init(maxBodyBytes: 1, maxResourceBytes: 1, maxBundleEntries: 1), profileValidation: .enforce, coreProfileValidation: .warn,
            delivery: .init(maxAttempts: 1, initialBackoffSeconds: 1, maxBackoffSeconds: 1, timeoutSeconds: 1, drainSeconds: 1, concurrency: 4),
            cases: CasePolicy(), pseudonymKeyFile: "/k", drainSeconds: 30)
        var changed = base
        changed.limits.maxBundleEntries = 5
        changed.tls.certificate = "c"
        changed.delivery.maxAttempts = 3
        #expect(Reloader.restartOnlyChanges(from: base, to: changed).isEmpty)
        changed.server.port = 443
        changed.storagePath = "/elsewhere"
        changed.delivery.concurrency = 8
        #expect(Reloader.restartOnlyChanges(from: base, to: changed) == ["server", "storage.path", "delivery.concurrency"])
    }

    @Test func theConnectionCapLeavesDescriptorsForTheRestOfTheProcess() {
        #expect(ConnectionAdmission.defaultLimit(descriptorLimit: 65_536, operationsLimit: 16) == 65_536 - 96 - 16)
        #expect(ConnectionAdmission.defaultLimit(descriptorLimit: 160, operationsLimit: 16) == 48)
        #expect(ConnectionAdmission.defaultLimit(descriptorLimit: 64, operationsLimit: 16) == 16)
    }

    @Test func memoryIsGivenBackOnceAStormOfConnectionsHasMostlyClosed() {
        #expect(!ConnectionAdmission.stormIsOver(peak: 100, open: 0), "a hundred connections are no storm")
        #expect(!ConnectionAdmission.stormIsOver(peak: 5_000, open: 2_000))
        #expect(ConnectionAdmission.stormIsOver(peak: 5_000, open: 1_250))
        #expect(ConnectionAdmission.stormIsOver(peak: 256, open: 0))
    }

    @Test func admissionStopsAtItsCapReportsRefusalsAtMostEveryTenSecondsAndFreesPlaces() {
        let reports = NIOLockedValueBox<[Int?]>([])
        let admission = ConnectionAdmission(listener: "api", limit: 2) { count in reports.withLockedValue { $0.append(count) } }
        #expect(admission.admit() && admission.admit())
        #expect(!admission.admit())
        #expect(!admission.admit())
        // Every refusal is counted (the metric); only the first within 10 s carries a count for the log.
        #expect(reports.withLockedValue { $0 } == [1, nil])
        admission.release()
        #expect(admission.open == 1)
        #expect(admission.admit())
    }

    @Test func deliveryFailuresAreSaidInWordsWithoutSwiftTypeNames() {
        #expect(
            DeliveryFailure.describe(IOError(errnoCode: ECONNREFUSED, reason: "connect"), host: "ehr.example", port: 443, timeoutSeconds: 30)
                == "the upstream ehr.example:443 could not be reached: connection refused (errno \(ECONNREFUSED))")
        #expect(DeliveryFailure.reason(HTTPClientError.readTimeout, timeoutSeconds: 30) == "no answer within 30 s (delivery.timeoutSeconds)")
        #expect(DeliveryFailure.tlsReason("handshakeFailed(... CERTIFICATE_VERIFY_FAILED ...)").hasPrefix("the upstream's certificate is not issued by"))
    }

    @Test func requestIDsAreThirteenHexDigitsAndDoNotRepeat() {
        let ids = (0..<10_000).map { _ in RequestLogMiddleware.nextID() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.count == 13 && $0.allSatisfy(\.isHexDigit) })
        // One run shares its prefix; the counter makes the rest.
        #expect(Set(ids.map { $0.prefix(5) }).count == 1)
    }

    @Test func requestDurationsAreLoggedInMillisecondsWithTwoDecimals() {
        #expect(RequestLogMiddleware.milliseconds(.microseconds(1_250)) == 1.25)
        #expect(RequestLogMiddleware.milliseconds(.microseconds(5)) == 0)
        #expect(RequestLogMiddleware.milliseconds(.microseconds(10_070)) == 10.07)
        #expect(RequestLogMiddleware.milliseconds(.seconds(2)) == 2000)
    }

    @Test func aSendersRequestIDIsUsedOnlyWhenItIsShortAndPlain() {
        #expect(RequestTrace.acceptedID("3f2b8c1e-9d4a-4e57-b0c2-6a1d2e3f4a5b") == "3f2b8c1e-9d4a-4e57-b0c2-6a1d2e3f4a5b")
        #expect(RequestTrace.acceptedID("MSG00001:ADT.A01_2") == "MSG00001:ADT.A01_2")
        #expect(RequestTrace.acceptedID(nil) == nil)
        #expect(RequestTrace.acceptedID("") == nil)
        #expect(RequestTrace.acceptedID(String(repeating: "a", count: 129)) == nil)
        #expect(RequestTrace.acceptedID("id with spaces") == nil)
        #expect(RequestTrace.acceptedID("x\u{1B}[31m") == nil)
        #expect(RequestTrace.acceptedID("Smith^John") == nil)
    }

    @Test func onlyElementPathsOfAnOutcomeReachTheLog() {
        #expect(RequestTrace.elementPath("Observation.valueQuantity.value") == "Observation.valueQuantity.value")
        #expect(RequestTrace.elementPath("Bundle.entry[2].resource.subject") == "Bundle.entry[2].resource.subject")
        #expect(RequestTrace.elementPath("Observation.code.where(text='John Smith')") == nil)
        #expect(RequestTrace.elementPath("Patient.name[0].family ") == nil)
        #expect(RequestTrace.elementPath("Bundle.entry[x].resource") == nil)
        #expect(RequestTrace.elementPath("Bundle.entry[].resource") == nil)
        #expect(RequestTrace.elementPath("") == nil)
        #expect(RequestTrace.elementPath(String(repeating: "a.", count: 120) + "b") == nil)
    }

    @Test func alertsAboutTheGatewaysOwnCertificateHaveTheirOwnCategories() {
        struct Raised: Error, CustomStringConvertible {
            var description: String
        }
        func category(_ reason: String) -> TLSHandshakeFailure.Category {
            TLSHandshakeFailure(Raised(description: "handshakeFailed(error:0A000086:SSL routines:OPENSSL_internal:\(reason))")).category
        }
        #expect(category("SSLV3_ALERT_CERTIFICATE_EXPIRED") == .serverCertificateExpired)
        #expect(category("TLSV1_ALERT_UNKNOWN_CA") == .serverCertificateUntrusted)
        #expect(category("SSLV3_ALERT_BAD_CERTIFICATE") == .serverCertificateUntrusted)
        #expect(category("CERTIFICATE_VERIFY_FAILED") == .clientCertificate)
        #expect(category("PEER_DID_NOT_RETURN_A_CERTIFICATE") == .clientCertificate)
        // An OpenSSL client's TLS 1.3 refusal arrives unencrypted.
        #expect(category("BAD_PACKET_LENGTH") == .serverCertificateUntrusted)
        // Any unexplained failure while the gateway's certificate is out of its dates is that.
        let unexplained = TLSHandshakeFailure(Raised(description: "OPENSSL_internal:DECRYPTION_FAILED"))
        #expect(unexplained.category == .other)
        #expect(unexplained.underServerCertificate(valid: false).category == .serverCertificateExpired)
        #expect(unexplained.underServerCertificate(valid: true).category == .other)
        #expect(TLSHandshakeFailure(timeout: ()).underServerCertificate(valid: false).category == .timeout)
    }

    @Test func theDateHeaderIsAnIMFFixdate() {
        #expect(HTTPDateCache.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDateCache.format(1_795_000_000) == "Wed, 18 Nov 2026 11:06:40 GMT")
    }

    func runScript(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Fixtures.packageRoot.appendingPathComponent(arguments[0]).path] + arguments.dropFirst()
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
