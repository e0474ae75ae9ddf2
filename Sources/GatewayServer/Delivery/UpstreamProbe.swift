import AsyncHTTPClient
import Foundation
import NIOCore
import Logging
import NIOHTTP1

/// `check-config`'s look at the upstream, with the delivery's own client: the name resolves, a
/// TCP connection opens, the TLS handshake passes with `upstream.caCertificate` and the client
/// certificate, and the FHIR server answers `GET [base]/metadata`. Each failure is a warning
/// (the upstream may be down for a while; the outbox waits for it), in the words of a failed
/// delivery.
enum UpstreamProbe {
    /// The probe's wait for an answer; a connection gets 10 s, as a delivery does.
    static let timeoutSeconds = 10.0

    /// No finding when the upstream answered 2xx.
    /// With SMART (`signer`), it also asks the authorization server for a token, as the first
    /// delivery will: that checks the token endpoint, the client id, the registered key and the scope.
    static func check(
        _ upstream: GatewayConfiguration.Upstream, signer: ClientAssertionSigner? = nil, delivery: GatewayConfiguration.Delivery? = nil
    ) async -> [Preflight.Finding] {
        // Unusable TLS files are the preflight's error; nothing to probe with then.
        guard let configuration = try? DeliveryService.clientConfiguration(upstream, timeoutSeconds: timeoutSeconds) else { return [] }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var findings = await probe(upstream, client: client)
        if findings.isEmpty, let smart = upstream.smart, let signer {
            // The finding says what went wrong; the token's own log lines are serve's.
            var quiet = Logger(label: "check-config")
            quiet.logLevel = .critical
            let auth = SMARTBackendAuth(
                settings: smart, baseURL: upstream.baseURL, signer: signer, client: client, timeoutSeconds: timeoutSeconds,
                backoff: (delivery?.initialBackoffSeconds ?? 1, delivery?.maxBackoffSeconds ?? 600), logger: quiet
            ) { _ in }
            do {
                _ = try await auth.token()
            } catch {
                findings.append(
                    Preflight.Finding(
                        .warning, key: smart.tokenURL == nil ? "upstream.clientID" : "upstream.tokenURL", error.description,
                        fix: "deliveries wait in the outbox until the authorization server issues a token"))
            }
        }
        try? await client.shutdown()
        return findings
    }

    static func probe(_ upstream: GatewayConfiguration.Upstream, client: HTTPClient) async -> [Preflight.Finding] {
        var request = HTTPClientRequest(url: "\(upstream.baseURL)/metadata")
        request.headers.add(name: "Accept", value: "application/fhir+json")
        // A SMART server's CapabilityStatement needs no token: the probe asks without one.
        switch await UpstreamAuthorization(upstream, smart: nil).credential() {
        case .found(let credential):
            if let header = credential.header { request.headers.add(name: "Authorization", value: header) }
        case .unusable(let reason):
            // serve starts without it; every delivery waits until it can be read.
            return [Preflight.Finding(.warning, key: "upstream.bearerTokenFile", reason, fix: "make the file readable by the gateway's user")]
        case .wait:
            break
        }
        do {
            let response = try await client.execute(request, timeout: .seconds(Int64(timeoutSeconds)))
            _ = try? await response.body.collect(upTo: 1_048_576)
            switch response.status.code {
            case 200..<300:
                return []
            case 401, 403:
                return [
                    Preflight.Finding(
                        .warning, key: "upstream.bearerTokenFile",
                        "the upstream refused GET \(upstream.baseURL)/metadata with HTTP \(response.status.code): it does not accept the gateway's credentials",
                        fix: "check the token in upstream.bearerTokenFile and the client certificate the upstream expects")
                ]
            default:
                return [
                    Preflight.Finding(
                        .warning, key: "upstream.baseURL",
                        "the upstream answered GET \(upstream.baseURL)/metadata with HTTP \(response.status.code), not a CapabilityStatement",
                        fix: "check that upstream.baseURL is the FHIR base of the EHR (the address before /RiskAssessment)")
                ]
            }
        } catch {
            return [
                Preflight.Finding(
                    .warning, key: "upstream.baseURL", DeliveryFailure.describe(error, baseURL: upstream.baseURL, timeoutSeconds: timeoutSeconds),
                    fix: "deliveries wait in the outbox until it can be reached; check the address, the firewall and upstream.caCertificate")
            ]
        }
    }
}
