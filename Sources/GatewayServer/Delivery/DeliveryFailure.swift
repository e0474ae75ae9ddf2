import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// Why a delivery could not reach the upstream, in words an operator can act on: the host and
/// port, and the system's error (connection refused, no such host), the time waited, or the TLS
/// reason (an unknown CA, a certificate for another name, an expired one). No Swift type names.
enum DeliveryFailure {
    /// - Parameters:
    ///   - host, port: the upstream's, from `upstream.baseURL`.
    ///   - timeoutSeconds: `delivery.timeoutSeconds`, for a request that got no answer in time.
    static func describe(_ error: any Error, host: String, port: Int, timeoutSeconds: Double) -> String {
        "the upstream \(host):\(port) could not be reached: \(reason(error, timeoutSeconds: timeoutSeconds))"
    }

    /// The same, with the host and port read from `upstream.baseURL`.
    static func describe(_ error: any Error, baseURL: String, timeoutSeconds: Double) -> String {
        let (host, port) = endpoint(baseURL)
        return describe(error, host: host, port: port, timeoutSeconds: timeoutSeconds)
    }

    /// The host and port of an http(s) URL (443 or 80 when it names none).
    static func endpoint(_ baseURL: String) -> (host: String, port: Int) {
        let url = URL(string: baseURL)
        return (url?.host ?? baseURL, url?.port ?? (url?.scheme == "http" ? 80 : 443))
    }

    static func reason(_ error: any Error, timeoutSeconds: Double) -> String {
        if let connection = error as? NIOConnectionError {
            if connection.dnsAError != nil, connection.dnsAAAAError != nil, connection.connectionErrors.isEmpty {
                return "no such host (the name does not resolve)"
            }
            let reasons = connection.connectionErrors.map { "\($0.target.ipAddress ?? "?"): \(reason($0.error, timeoutSeconds: timeoutSeconds))" }
            return reasons.isEmpty ? "no address to connect to" : reasons.joined(separator: "; ")
        }
        if let io = error as? IOError {
            return "\(String(cString: strerror(io.errnoCode)).lowercased()) (errno \(io.errnoCode))"
        }
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout: return "the connection was not established within 10 s"
            case .deadlineExceeded, .readTimeout: return "no answer within \(Self.seconds(timeoutSeconds)) s (delivery.timeoutSeconds)"
            case .remoteConnectionClosed: return "the upstream closed the connection before it answered"
            default: return "the HTTP client failed (\(client))"
            }
        }
        if let tls = error as? NIOSSLError {
            return "the TLS handshake failed: \(tlsReason(String(describing: tls)))"
        }
        if let tls = error as? NIOSSLExtraError {
            return "the TLS handshake failed: \(tlsReason(String(describing: tls)))"
        }
        return "\(error)"
    }

    /// BoringSSL's reason in words, with its name kept for searching.
    static func tlsReason(_ text: String) -> String {
        let reasons: [(String, String)] = [
            ("CERTIFICATE_VERIFY_FAILED", "the upstream's certificate is not issued by upstream.caCertificate, or has expired"),
            ("certificate has expired", "the upstream's certificate has expired"),
            ("TLSV1_ALERT_UNKNOWN_CA", "the upstream does not trust the gateway's client certificate (upstream.clientCertificate)"),
            ("TLSV1_CERTIFICATE_REQUIRED", "the upstream requires a client certificate (upstream.clientCertificate)"),
            ("failedToValidateHostname", "the upstream's certificate is for another host name"),
            ("NO_SHARED_CIPHER", "no TLS version or cipher in common"),
            ("WRONG_VERSION_NUMBER", "the upstream does not speak TLS on this port"),
        ]
        for (marker, words) in reasons where text.contains(marker) { return "\(words) (\(marker))" }
        return String(text.prefix(200))
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
