#!/usr/bin/env python3
"""A real OAuth 2.0 authorization server for the end-to-end tests of SMART Backend Services:
client credentials with a private_key_jwt client assertion (RFC 7523, as SMART App Launch v2
profiles it), built on authlib (AuthorizationServer, ClientCredentialsGrant, JWTBearerClientAssertion).
Needs authlib (scripts/install-deps.sh puts it in the venv .build/test-python).

  smart_auth_server.py --port P --cert C --key K --jwks JWKS [--client-ca CA] [--client-id ID]
                       [--scopes "S1 S2"] [--expires-in N] [--clock-offset SECONDS]

POST /token          grant_type=client_credentials, scope, client_assertion_type, client_assertion.
                     RS384/ES384 only; header kid and typ=JWT; iss=sub=client id; aud = this token URL
                     exactly (https://127.0.0.1:PORT/token); exp an integer no more than 5 minutes
                     ahead; a jti seen before is refused. Errors are RFC 6749 5.2 JSON (invalid_client,
                     invalid_scope, ...). The JWKS file is read again at every token request, so a test
                     rotates the client's keys by rewriting it.
GET  /_records       {"tokenRequests": [...]}: every token request with the assertion, its decoded
                     (unverified) header and claims, the outcome and the token issued (for the tests only).
POST /_control       JSON {"refuse": "invalid_client" | null, "revokeAll": true}: answer every further
                     token request with that error (null: stop refusing); revoke every token issued.
GET  /introspect?token=T   {"active", "scope", "client_id", "exp"} for the FHIR upstream (unauthenticated).

--clock-offset: the server's clock runs this many seconds off the real one (negative: behind), for
every time it reads (claims checks, token expiry). Binds 127.0.0.1 only; with --port 0 the system
picks the port. Writes its port to stdout when ready. With --client-ca a client certificate is asked
for (not required) and its subject recorded.
"""
import argparse
import base64
import json
import signal
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidClientError, OAuth2Request, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ALLOWED_ALGS = ["RS384", "ES384"]
MAX_ASSERTION_LIFETIME = 300  # SMART: exp no more than five minutes in the future
# exp is compared with this server's clock when the request arrives; the client computed it a
# moment before (and may have rounded up to the next second).
LIFETIME_SLACK = 2
LEEWAY = 30  # for expired assertions and iat/nbf in the future


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.clock_offset = args.clock_offset
        self.seen_jti = {}
        self.tokens = {}
        self.records = []
        self.refuse = None
        self.token_url = None

    def now(self):
        return time.time() + self.clock_offset

    def client_jwks(self):
        with open(self.args.jwks, encoding="utf-8") as f:
            return json.load(f)


class Client(ClientMixin):
    def __init__(self, client_id, scopes, state):
        self.client_id = client_id
        self.scopes = set(scopes)
        self.state = state

    def get_client_id(self):
        return self.client_id

    def get_allowed_scope(self, scope):
        return " ".join(s for s in scope.split() if s in self.scopes) if scope else ""

    def check_endpoint_auth_method(self, method, endpoint):
        return method == "private_key_jwt" and endpoint == "token"

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"


class PrivateKeyJWT(JWTBearerClientAssertion):
    """RFC 7523 client authentication as SMART Backend Services profiles it."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, state):
        super().__init__(leeway=LEEWAY)
        self.state = state

    def get_audiences(self):
        return [self.state.token_url]

    def validate_jti(self, claims, jti):
        key = (claims["iss"], jti)
        with self.state.lock:
            now = self.state.now()
            for k, exp in list(self.state.seen_jti.items()):
                if exp + MAX_ASSERTION_LIFETIME + self.leeway < now:
                    del self.state.seen_jti[k]
            if key in self.state.seen_jti:
                return False
            self.state.seen_jti[key] = claims["exp"]
            return True

    def resolve_client_public_key(self, client):
        # Read at each request: a test rotates keys by rewriting the file.
        return KeySet.import_key_set(self.state.client_jwks())

    def verify_claims(self, claims):
        # authlib's checks, with this server's (possibly offset) clock.
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self.state.now()),
            leeway=self.leeway,
            iss={"essential": True},
            sub={"essential": True},
            aud={"essential": True, "values": self.get_audiences()},
            exp={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            raise InvalidClientError(description=error.description) from error
        if claims["sub"] != claims["iss"]:
            raise InvalidClientError(description="Issuer and Subject MUST match.")
        if not self.validate_jti(claims, claims["jti"]):
            raise InvalidClientError(description="JWT ID is used before.")

    def process_assertion_claims(self, assertion, resolve_key):
        # joserfc allows only its "recommended" algorithms unless told: list RS384/ES384.
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ALLOWED_ALGS)
        except JoseError as error:
            raise InvalidClientError(description=error.description or error.error) from error
        header = token.header
        if "kid" not in header:
            raise InvalidClientError(description="Missing 'kid' header")
        if header.get("typ") != "JWT":
            raise InvalidClientError(description="typ must be JWT")
        claims = token.claims
        exp = claims.get("exp")
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise InvalidClientError(description="exp must be an integer (NumericDate seconds)")
        if exp - self.state.now() > MAX_ASSERTION_LIFETIME + LIFETIME_SLACK:
            raise InvalidClientError(description="exp more than 5 minutes in the future")
        self.verify_claims(claims)
        return claims


class ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]


class FormRequest(OAuth2Request):
    """An OAuth2Request over an already-parsed form (the base class's .form raises)."""

    def __init__(self, method, uri, headers, form):
        super().__init__(method, uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def form(self):
        return self._form

    @property
    def args(self):
        return {}


class Server(AuthorizationServer):
    def __init__(self, state, clients, scopes_supported, expires_in):
        super().__init__(scopes_supported=scopes_supported)
        self.state = state
        self.clients = clients
        self.register_token_generator(
            "default",
            BearerTokenGenerator(lambda *a, **k: generate_token(42), expires_generator=lambda client, grant: expires_in),
        )
        self.register_client_auth_method("private_key_jwt", PrivateKeyJWT(state))
        self.register_grant(ClientCredentials)

    def query_client(self, client_id):
        return self.clients.get(client_id)

    def save_token(self, token, request):
        with self.state.lock:
            self.state.tokens[token["access_token"]] = {
                "client_id": request.client.client_id,
                "scope": token.get("scope"),
                "exp": self.state.now() + token["expires_in"],
                "revoked": False,
            }

    def create_oauth2_request(self, request):
        method, uri, headers, form = request
        return FormRequest(method, uri, headers, form)

    def handle_response(self, status, body, headers):
        return status, body, headers

    def send_signal(self, name, *args, **kwargs):
        pass


def decode_unverified(assertion):
    """The assertion's header and claims as sent (None when not a compact JWS of JSON)."""
    try:
        parts = assertion.split(".")
        if len(parts) != 3:
            return None, None
        decoded = []
        for part in parts[:2]:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
            decoded.append(json.loads(raw))
        return decoded[0], decoded[1]
    except (ValueError, TypeError):
        return None, None


def peer_subject(connection):
    try:
        certificate = connection.getpeercert()
    except (AttributeError, ValueError):
        return None
    if not certificate:
        return None
    return ",".join(f"{k}={v}" for rdn in certificate.get("subject", ()) for k, v in rdn)


def make_handler(server, state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def send(self, status, body, headers=()):
            data = json.dumps(body).encode()
            self.send_response(status)
            fields = dict(headers)
            fields.setdefault("Content-Type", "application/json")
            for name, value in fields.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/_records":
                with state.lock:
                    self.send(200, {"tokenRequests": state.records, "tokenURL": state.token_url,
                                    "clockOffset": state.clock_offset})
            elif url.path == "/introspect":
                token = urllib.parse.parse_qs(url.query).get("token", [""])[0]
                with state.lock:
                    issued = state.tokens.get(token)
                    now = state.now()
                if issued is None:
                    self.send(200, {"active": False, "reason": "unknown"})
                elif issued["revoked"]:
                    self.send(200, {"active": False, "reason": "revoked"})
                elif issued["exp"] <= now:
                    self.send(200, {"active": False, "reason": "expired"})
                else:
                    self.send(200, {"active": True, "scope": issued["scope"], "client_id": issued["client_id"],
                                    "exp": int(issued["exp"])})
            else:
                self.send(404, {"error": "not_found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            path = urllib.parse.urlsplit(self.path).path
            if path == "/_control":
                self.control(body)
            elif path == "/token":
                self.token(body)
            else:
                self.send(404, {"error": "not_found"})

        def control(self, body):
            try:
                command = json.loads(body or "{}")
            except ValueError:
                return self.send(400, {"error": "not JSON"})
            with state.lock:
                if "refuse" in command:
                    state.refuse = command["refuse"]
                if command.get("revokeAll"):
                    for token in state.tokens.values():
                        token["revoked"] = True
                self.send(200, {"refuse": state.refuse, "tokens": len(state.tokens)})

        def token(self, body):
            form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
            assertion = form.get("client_assertion", "")
            header, claims = decode_unverified(assertion)
            record = {
                "time": time.time(),
                "serverTime": state.now(),
                "contentType": self.headers.get("Content-Type"),
                "grantType": form.get("grant_type"),
                "scope": form.get("scope"),
                "clientAssertionType": form.get("client_assertion_type"),
                "parameters": sorted(form),
                "assertion": assertion,
                "header": header,
                "claims": claims,
                "clientCertificate": peer_subject(self.connection),
            }
            with state.lock:
                refuse = state.refuse
            if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
                status, payload, headers = 400, {"error": "invalid_request",
                                                 "error_description": "not application/x-www-form-urlencoded"}, []
            elif refuse:
                status, payload, headers = 400, {"error": refuse, "error_description": "refused by the test's control"}, []
            else:
                status, payload, headers = server.create_token_response(
                    ("POST", state.token_url, dict(self.headers), form))
            record["status"] = status
            record["outcome"] = payload.get("error", "issued") if isinstance(payload, dict) else "issued"
            if isinstance(payload, dict):
                record["errorDescription"] = payload.get("error_description")
                record["accessToken"] = payload.get("access_token")
                record["expiresIn"] = payload.get("expires_in")
                record["grantedScope"] = payload.get("scope") if status == 200 else None
            with state.lock:
                state.records.append(record)
            self.send(status, payload, headers)

    return Handler


def main():
    # A parent may start us with SIGTERM blocked (the mask is inherited); the tests stop us with it.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--client-ca")
    parser.add_argument("--jwks", required=True)
    parser.add_argument("--client-id", default="fhir-risk-gateway")
    parser.add_argument("--scopes", default="system/RiskAssessment.write system/RiskAssessment.cu")
    parser.add_argument("--expires-in", type=int, default=300)
    parser.add_argument("--clock-offset", type=float, default=0)
    args = parser.parse_args()

    state = State(args)
    state.client_jwks()  # a missing or broken file is an error at start
    scopes = args.scopes.split()
    server = Server(state, {args.client_id: Client(args.client_id, scopes, state)}, scopes, args.expires_in)

    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), None)
    httpd.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        context.load_verify_locations(args.client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    port = httpd.server_address[1]
    state.token_url = f"https://127.0.0.1:{port}/token"
    httpd.RequestHandlerClass = make_handler(server, state)
    print(port, flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
