import Foundation
import TestSupport
import Testing

/// Delivery under SMART Backend Services: the real binary gets its access tokens from a real
/// authorization server (authlib, Tests/Tools/smart_auth_server.py) with a private_key_jwt client
/// assertion (RFC 7523), and the test upstream accepts a RiskAssessment only with an active token
/// of that server.
@Suite(.serialized) struct SMARTBackendTests {
    static let clientID = "fhir-risk-gateway-e2e"
    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    static let refusedLine = #"msg="the authorization server refused the gateway""#
    static func refusedMetric(_ error: String) -> String { #"fhir_gateway_upstream_auth_failures_total{reason="\#(error)"}"# }

    // MARK: - Set-up

    /// The `upstream:` settings for SMART Backend Services with this key (no token URL: discovery).
    static func settings(key: String, keyID: String, extra: String = "") -> String {
        "auth: smartBackend\nclientID: \(clientID)\njwtSigningKey: \(key)\njwtKeyID: \(keyID)\n" + extra
    }

    /// `fhir-risk-gateway jwks --config` of the harness's configuration: the parsed JWK Set and
    /// its text.
    static func gatewayJWKS(_ harness: DaemonHarness) throws -> (set: [String: Any], text: Data) {
        let run = try GatewayBinary.run(["jwks", "--config", harness.path("gateway.yaml")])
        try #require(run.status == 0, "jwks exited \(run.status): \(run.standardError)")
        let set = try #require(try JSONSerialization.jsonObject(with: run.standardOutput) as? [String: Any], "\(run.output)")
        return (set, run.standardOutput)
    }

    /// A harness whose gateway signs with an RSA key "k1" (RS384) and whose authorization server
    /// registered the JWK Set the gateway's own `jwks` command prints; the authorization server,
    /// the upstream (advertising it) and the gateway running. `control`: sent to the authorization
    /// server before the gateway starts; `tokenURL`: configure the token URL (no discovery).
    static func start(authOptions: [String] = [], control: [String: Any]? = nil, tokenURL: Bool = false) throws -> DaemonHarness {
        let harness = try DaemonHarness()
        let key = try harness.makeSigningKey("client-k1.pem", .rsa)
        harness.upstreamSettings = settings(key: key, keyID: "k1")
        let jwks = try gatewayJWKS(harness)
        try jwks.text.write(to: URL(fileURLWithPath: harness.path("client-jwks.json")))
        try harness.startAuthServer(jwks: harness.path("client-jwks.json"), ["--client-id", clientID] + authOptions)
        if let control { try harness.controlAuthServer(control) }
        if tokenURL { harness.upstreamSettings = settings(key: key, keyID: "k1", extra: "tokenURL: \(harness.authServerURL)/token\n") }
        try harness.startUpstream(harness.upstreamAuthOptions)
        try harness.startGateway()
        return harness
    }

    /// Posts a case (a study and its ADC) that scores to one RiskAssessment.
    static func postCase(_ harness: DaemonHarness, _ name: String) throws {
        let study = try harness.request("PUT", "/fhir/ImagingStudy/s-\(name)", body: Data(CaseFixtures.study("s-\(name)", patient: "p-\(name)").utf8))
        #expect(study.status == 201, "\(study.text)")
        let adc = try harness.request(
            "PUT", "/fhir/Observation/o-\(name)", body: Data(CaseFixtures.adc("o-\(name)", patient: "p-\(name)", study: "s-\(name)").utf8))
        #expect(adc.status == 201, "\(adc.text)")
    }

    /// The PUTs the upstream received, in order.
    static func puts(_ harness: DaemonHarness) -> [[String: Any]] {
        ((try? harness.upstreamRecords())?["requests"] as? [[String: Any]] ?? []).filter { $0["method"] as? String == "PUT" }
    }

    static func issued(_ harness: DaemonHarness) -> [[String: Any]] {
        harness.tokenRequests().filter { $0["outcome"] as? String == "issued" }
    }

    static func logLines(_ harness: DaemonHarness, containing text: String) -> [Substring] {
        harness.gatewayLog.split(separator: "\n").filter { $0.contains(text) }
    }

    /// No log line holds an access token, a client assertion (or its signature) or the private
    /// keys' material.
    static func expectNoSecretsLogged(_ harness: DaemonHarness, keys: [String] = ["client-k1.pem"]) {
        let log = harness.gatewayLog
        for request in harness.tokenRequests() {
            if let token = request["accessToken"] as? String, !token.isEmpty {
                #expect(!log.contains(token), "the access token is in the log")
            }
            if let assertion = request["assertion"] as? String, !assertion.isEmpty {
                #expect(!log.contains(assertion), "the client assertion is in the log")
                if let signature = assertion.split(separator: ".").last, signature.count > 20 {
                    #expect(!log.contains(signature), "the assertion's signature is in the log")
                }
            }
        }
        for key in keys {
            let pem = (try? String(contentsOfFile: harness.path(key), encoding: .utf8)) ?? ""
            for line in pem.split(separator: "\n") where !line.hasPrefix("-----") && line.count > 20 {
                #expect(!log.contains(line), "key material of \(key) is in the log")
            }
        }
        #expect(!log.contains("PRIVATE KEY"))
    }

    /// Waits for the refusal to be logged (with its error) and counted.
    static func waitForRefusal(_ harness: DaemonHarness, error: String = "invalid_client") throws {
        try harness.waitUntil("the refusal is logged") {
            logLines(harness, containing: refusedLine).contains { $0.contains("auth.error=\(error)") }
        }
        try harness.waitUntil("the refusal is counted") { (try? harness.metric(refusedMetric(error))) ?? 0 >= 1 }
        let line = logLines(harness, containing: refusedLine).first ?? ""
        #expect(line.contains("level=error"), "\(line)")
    }

    /// The assessment is still to be delivered: pending in the outbox, no dead letter.
    static func expectPending(_ harness: DaemonHarness) throws {
        #expect(try harness.metric("fhir_gateway_dead_letters") == 0)
        #expect(try harness.metric(#"fhir_gateway_delivery_attempts_total{result="dead"}"#) == 0)
        #expect(try harness.metric("fhir_gateway_outbox_depth") == 1)
        let json = try GatewayBinary.run(["outbox", "list", "--store", harness.path("state/gateway.sqlite"), "--json"])
        let listed = try JSONSerialization.jsonObject(with: json.standardOutput) as? [String: Any]
        let states = (listed?["deliveries"] as? [[String: Any]] ?? []).compactMap { $0["state"] as? String }
        #expect(states == ["pending"], "\(json.output)")
        #expect(puts(harness).isEmpty, "nothing goes upstream without a token")
    }

    // MARK: - Tests

    @Test func theGatewayDiscoversTheTokenEndpointAndDeliversWithItsFirstToken() throws {
        let harness = try Self.start()
        defer { harness.stopAll() }
        try Self.postCase(harness, "a")
        try harness.waitUntil("the assessment is delivered with a token") { harness.upstreamResources().count == 1 }

        let records = try harness.authServerRecords()
        let tokenURL = try #require(records["tokenURL"] as? String)
        #expect(tokenURL == "\(harness.authServerURL)/token")
        let requests = harness.tokenRequests()
        try #require(requests.count == 1, "\(requests)")
        let request = requests[0]
        #expect(request["outcome"] as? String == "issued", "\(request)")
        #expect(request["grantType"] as? String == "client_credentials")
        #expect(request["clientAssertionType"] as? String == Self.assertionType)
        #expect(request["scope"] as? String == "system/RiskAssessment.write", "the default scope")
        #expect((request["contentType"] as? String)?.hasPrefix("application/x-www-form-urlencoded") == true)
        // Over the upstream's TLS, with the upstream client certificate configured.
        #expect((request["clientCertificate"] as? String)?.contains("interface-engine") == true, "\(request)")

        let header = try #require(request["header"] as? [String: Any])
        #expect(header["typ"] as? String == "JWT")
        #expect(header["alg"] as? String == "RS384")
        #expect(header["kid"] as? String == "k1")
        let claims = try #require(request["claims"] as? [String: Any])
        #expect(claims["iss"] as? String == Self.clientID)
        #expect(claims["sub"] as? String == Self.clientID)
        // aud is the discovered token endpoint, exactly (a string, or a one-element array).
        let audience = claims["aud"] as? String ?? (claims["aud"] as? [String])?.first
        #expect(audience == tokenURL, "\(claims)")
        let jti = try #require(claims["jti"] as? String)
        #expect(!jti.isEmpty)
        // exp an integer, at most five minutes after the request (and after iat, when sent).
        let exp = try #require(claims["exp"] as? NSNumber)
        #expect(Double(exp.int64Value) == exp.doubleValue, "exp \(exp) is not an integer")
        let received = try #require(request["time"] as? Double)
        #expect(exp.doubleValue - received <= 301 && exp.doubleValue > received, "exp \(exp), received \(received)")
        if let iat = claims["iat"] as? NSNumber {
            #expect(exp.doubleValue - iat.doubleValue <= 300, "exp \(exp), iat \(iat)")
        }

        // Discovery, then the PUT with the token issued (the upstream checked it: active, scope).
        let upstream = (try harness.upstreamRecords()["requests"] as? [[String: Any]]) ?? []
        #expect(upstream.contains { $0["path"] as? String == "/.well-known/smart-configuration" }, "\(upstream)")
        let delivered = Self.puts(harness)
        #expect(delivered.count == 1)
        #expect(delivered.first?["auth"] as? String == "ok")
        #expect(delivered.first?["answer"] as? Int == 201)
        let token = try #require(request["accessToken"] as? String)
        #expect(delivered.first?["authorization"] as? String == "Bearer \(token)")
        Self.expectNoSecretsLogged(harness)
    }

    @Test func aConfiguredTokenURLIsUsedWithoutDiscovery() throws {
        let harness = try Self.start(tokenURL: true)
        defer { harness.stopAll() }
        try Self.postCase(harness, "t")
        try harness.waitUntil("the assessment is delivered with a token") { harness.upstreamResources().count == 1 }
        let upstream = (try harness.upstreamRecords()["requests"] as? [[String: Any]]) ?? []
        #expect(!upstream.contains { $0["path"] as? String == "/.well-known/smart-configuration" }, "\(upstream)")
        let request = try #require(Self.issued(harness).first)
        let claims = try #require(request["claims"] as? [String: Any])
        let audience = claims["aud"] as? String ?? (claims["aud"] as? [String])?.first
        #expect(audience == "\(harness.authServerURL)/token")
        Self.expectNoSecretsLogged(harness)
    }

    @Test func anExpiredTokenIsRenewedBeforeTheNextDelivery() throws {
        let harness = try Self.start(authOptions: ["--expires-in", "2"])
        defer { harness.stopAll() }
        try Self.postCase(harness, "b1")
        try harness.waitUntil("the first assessment is delivered") { harness.upstreamResources().count == 1 }
        let first = try #require(Self.issued(harness).first)
        let expiry = try #require(first["time"] as? Double) + Double(try #require(first["expiresIn"] as? Int))
        try harness.waitUntil("the first token has expired") { Date().timeIntervalSince1970 > expiry + 0.5 }

        try Self.postCase(harness, "b2")
        try harness.waitUntil("the second assessment is delivered") { harness.upstreamResources().count == 2 }
        let issued = Self.issued(harness)
        #expect(issued.count == 2, "\(issued.count) tokens issued")
        #expect(harness.tokenRequests().count == 2, "no refused token request")
        // A fresh assertion for each: never a jti twice.
        let jtis = Set(issued.compactMap { ($0["claims"] as? [String: Any])?["jti"] as? String })
        #expect(jtis.count == 2)
        // The second delivery carried the new token; no expired token was sent.
        let puts = Self.puts(harness)
        #expect(puts.compactMap { $0["answer"] as? Int } == [201, 201], "\(puts)")
        #expect(puts.last?["authorization"] as? String == "Bearer \(issued.last?["accessToken"] as? String ?? "-")")
        Self.expectNoSecretsLogged(harness)
    }

    @Test func aRevokedTokenIsAnsweredWith401AndTheDeliveryRetriesOnceWithAFreshToken() throws {
        let harness = try Self.start()
        defer { harness.stopAll() }
        try Self.postCase(harness, "c1")
        try harness.waitUntil("the first assessment is delivered") { harness.upstreamResources().count == 1 }
        #expect(Self.issued(harness).count == 1)
        try harness.controlAuthServer(["revokeAll": true])

        try Self.postCase(harness, "c2")
        try harness.waitUntil("the second assessment is delivered") { harness.upstreamResources().count == 2 }
        try harness.waitForEmptyOutbox()
        let issued = Self.issued(harness)
        #expect(issued.count == 2, "\(issued.count) tokens issued")
        let puts = Self.puts(harness)
        #expect(puts.compactMap { $0["answer"] as? Int } == [201, 401, 201], "\(puts)")
        #expect(puts.compactMap { $0["auth"] as? String } == ["ok", "revoked", "ok"], "\(puts)")
        // The 401 and its retry are the same RiskAssessment: delivered once.
        #expect(puts.count == 3 && puts[1]["identifier"] as? String == puts[2]["identifier"] as? String)
        #expect(puts.last?["authorization"] as? String == "Bearer \(issued.last?["accessToken"] as? String ?? "-")")
        #expect(try harness.metric("fhir_gateway_dead_letters") == 0)
        #expect(try harness.metric(#"fhir_gateway_delivery_attempts_total{result="delivered"}"#) == 2)
        Self.expectNoSecretsLogged(harness)
    }

    @Test func aRefusedClientKeepsTheCasePendingUntilTheServerAcceptsIt() throws {
        let harness = try Self.start(control: ["refuse": "invalid_client"])
        defer { harness.stopAll() }
        try Self.postCase(harness, "d")
        try Self.waitForRefusal(harness)
        #expect(harness.tokenRequests().allSatisfy { $0["outcome"] as? String == "invalid_client" })
        try Self.expectPending(harness)

        try harness.controlAuthServer(["refuse": NSNull()])
        try harness.waitUntil("the case is delivered once the server accepts the gateway") { harness.upstreamResources().count == 1 }
        try harness.waitForEmptyOutbox()
        #expect(try harness.metric("fhir_gateway_dead_letters") == 0)
        #expect(Self.issued(harness).count == 1)
        #expect(Self.puts(harness).compactMap { $0["answer"] as? Int } == [201])
        Self.expectNoSecretsLogged(harness)
    }

    @Test func anAssertionExpiringTooFarAheadOfTheServersClockIsRefusedAndTheCaseWaits() throws {
        // The server's clock is ten minutes behind: the gateway's exp is fifteen minutes ahead of it.
        let harness = try Self.start(authOptions: ["--clock-offset", "-600"])
        defer { harness.stopAll() }
        try Self.postCase(harness, "e")
        try Self.waitForRefusal(harness)
        let refused = try #require(harness.tokenRequests().first)
        #expect(refused["outcome"] as? String == "invalid_client")
        #expect((refused["errorDescription"] as? String)?.contains("exp") == true, "\(refused)")
        try Self.expectPending(harness)
        Self.expectNoSecretsLogged(harness)
    }

    @Test func aScopeTheServerDoesNotGrantKeepsTheCasePending() throws {
        // The server knows only the SMART v2 scope; the gateway asks for the default v1 one.
        let harness = try Self.start(authOptions: ["--scopes", "system/RiskAssessment.cu"])
        defer { harness.stopAll() }
        try Self.postCase(harness, "s")
        try Self.waitForRefusal(harness, error: "invalid_scope")
        #expect(harness.tokenRequests().allSatisfy { $0["outcome"] as? String == "invalid_scope" })
        try Self.expectPending(harness)
        Self.expectNoSecretsLogged(harness)
    }

    @Test func aNewKeyIsUsedUnderItsKidOnceTheServerHasItAndTheGatewayRestarts() throws {
        let harness = try Self.start()
        defer { harness.stopAll() }
        try Self.postCase(harness, "f1")
        try harness.waitUntil("the first assessment is delivered with k1") { harness.upstreamResources().count == 1 }
        let old = try #require(Self.issued(harness).first?["header"] as? [String: Any])
        #expect(old["kid"] as? String == "k1" && old["alg"] as? String == "RS384", "\(old)")

        // The server registers both keys; the gateway restarts with the new one (EC P-384).
        let oldSet = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: harness.path("client-jwks.json")))) as? [String: Any])
        harness.stopGateway()
        let key = try harness.makeSigningKey("client-k2.pem", .ec)
        harness.upstreamSettings = Self.settings(key: key, keyID: "k2")
        let newSet = try Self.gatewayJWKS(harness).set
        let keys = (oldSet["keys"] as? [[String: Any]] ?? []) + (newSet["keys"] as? [[String: Any]] ?? [])
        #expect(keys.compactMap { $0["kid"] as? String } == ["k1", "k2"])
        let both = try JSONSerialization.data(withJSONObject: ["keys": keys])
        try both.write(to: URL(fileURLWithPath: harness.path("client-jwks.json")), options: .atomic)
        try harness.startGateway()

        try Self.postCase(harness, "f2")
        try harness.waitUntil("the second assessment is delivered with k2") { harness.upstreamResources().count == 2 }
        let requests = harness.tokenRequests()
        let last = try #require(requests.last)
        #expect(last["outcome"] as? String == "issued", "\(last)")
        let header = try #require(last["header"] as? [String: Any])
        #expect(header["kid"] as? String == "k2")
        #expect(header["alg"] as? String == "ES384")
        #expect(header["typ"] as? String == "JWT")
        #expect(requests.allSatisfy { $0["outcome"] as? String == "issued" }, "\(requests)")
        Self.expectNoSecretsLogged(harness, keys: ["client-k1.pem", "client-k2.pem"])
    }

    @Test func theJWKSCommandAndTheOperationsListenerPublishOnlyThePublicKey() throws {
        let harness = try DaemonHarness()
        defer { harness.stopAll() }
        let privateMembers = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"]

        let rsa = try harness.makeSigningKey("client-k1.pem", .rsa)
        harness.upstreamSettings = Self.settings(key: rsa, keyID: "k1")
        let rsaSet = try Self.gatewayJWKS(harness).set
        let rsaKeys = try #require(rsaSet["keys"] as? [[String: Any]])
        try #require(rsaKeys.count == 1, "\(rsaSet)")
        #expect(rsaKeys[0]["kty"] as? String == "RSA")
        #expect(rsaKeys[0]["kid"] as? String == "k1")
        #expect(rsaKeys[0]["alg"] as? String == "RS384")
        #expect(rsaKeys[0]["n"] is String && rsaKeys[0]["e"] as? String == "AQAB", "\(rsaKeys[0])")
        #expect(privateMembers.allSatisfy { rsaKeys[0][$0] == nil }, "\(rsaKeys[0].keys.sorted())")

        let ec = try harness.makeSigningKey("client-k2.pem", .ec)
        harness.upstreamSettings = Self.settings(key: ec, keyID: "k2")
        let ecSet = try Self.gatewayJWKS(harness).set
        let ecKeys = try #require(ecSet["keys"] as? [[String: Any]])
        try #require(ecKeys.count == 1, "\(ecSet)")
        #expect(ecKeys[0]["kty"] as? String == "EC")
        #expect(ecKeys[0]["kid"] as? String == "k2")
        #expect(ecKeys[0]["alg"] as? String == "ES384")
        #expect(ecKeys[0]["crv"] as? String == "P-384")
        // P-384 coordinates: 48 bytes, 64 base64url characters.
        #expect((ecKeys[0]["x"] as? String)?.count == 64 && (ecKeys[0]["y"] as? String)?.count == 64, "\(ecKeys[0])")
        #expect(privateMembers.allSatisfy { ecKeys[0][$0] == nil }, "\(ecKeys[0].keys.sorted())")

        // The running daemon serves the same set on the operations listener.
        try harness.startGateway()
        let (status, text) = try harness.operations("/.well-known/jwks.json")
        #expect(status == 200, "\(text)")
        let served = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
        let canonical = { (set: [String: Any]) in
            String(decoding: (try? JSONSerialization.data(withJSONObject: set, options: .sortedKeys)) ?? Data(), as: UTF8.self)
        }
        #expect(canonical(served) == canonical(ecSet), "\(served) != \(ecSet)")
        Self.expectNoSecretsLogged(harness, keys: ["client-k1.pem", "client-k2.pem"])
    }
}
