"""Stand-ins for the registries the suite cannot run: ECR and Harbor, each as a front on a real
CNCF Distribution registry (the upstream, plain HTTP on loopback), answering what the real one
answers where it differs from Distribution. Facts and sources: ../shared/registries.md.

ecr mode (AWS's API is moto's server, in this process, so the front reads the same state):
  - every /v2/ request needs Basic `AWS:<token>`, the token moto's GetAuthorizationToken gives
    (`<account>-auth-token`), else 401 with a Basic challenge;
  - /v2/_catalog is refused (ECR has none: assumed 405 UNSUPPORTED, the exact answer is not
    documented);
  - a repository moto has not created: an upload to it is cut (ECR "abruptly ends the request",
    dotnet/sdk-container-builds#279), anything else is 404 NAME_UNKNOWN;
  - an intermediate PATCH is answered 201, not 202; a PATCH after one under 5 MiB is refused
    (non-final parts must be at least 5 MiB, same source); with --stale-range the Range header
    stops advancing after the second PATCH (aws/containers-roadmap#2831);
  - a manifest with a top-level artifactType is refused 405 (oras-project/oras#1133); a stored
    manifest is also put into moto (PutImage), so ListImages sees its tag, and moto's tag
    mutability is enforced.
harbor mode (Harbor v2.x: goharbor/harbor api/v2.0/swagger.yaml):
  - /v2/_catalog answers 401 "unauthorized to list catalog" to everyone (robot accounts);
  - GET /api/v2.0/projects/{project}/repositories?page=&page_size= lists the project's
    repositories (names with the project prefix), with X-Total-Count and a Link rel="next";
  - everything needs Basic `--user`:`--password` (a robot account's), else 401.
Both print `moto PORT` (ecr), `registry PORT` and `control PORT`, one a line, then serve until
stdin closes. The control port (plain HTTP) lets a test create repositories and read state:
  POST /repositories/NAME[?immutable=1]   GET /repositories   GET /requests
  POST /deny/ACTION   (ecr: the ECR API refuses ACTION, e.g. CreateRepository, as AWS refuses an
                       identity whose policies do not allow it: 400 AccessDeniedException, the
                       message in IAM's words. moto enforces no IAM unless told to, and then for
                       every call: this denies the one action a test is about.)
"""

import base64
import http.client
import http.server
import json
import re
import socketserver
import ssl
import sys
import threading
import urllib.parse

MIB = 1024 * 1024


def parse_args(argv):
    args = {"stale_range": False, "account": "123456789012", "region": "us-east-1"}
    i = 0
    while i < len(argv):
        flag = argv[i]
        if flag == "--stale-range":
            args["stale_range"] = True
            i += 1
            continue
        args[flag.lstrip("-").replace("-", "_")] = argv[i + 1]
        i += 2
    return args


ARGS = parse_args(sys.argv[1:])
MODE = ARGS["mode"]
UPSTREAM = ARGS["upstream"]
LOCK = threading.Lock()
# Per upload (its UUID in the path): sizes of the PATCHes so far and the first Range answered.
UPLOADS = {}
REQUESTS = []

DENIED = set()

if MODE == "ecr":
    from moto.core.exceptions import JsonRESTError
    from moto.ecr.models import ecr_backends
    from moto.ecr.responses import ECRResponse
    from moto.server import ThreadedMotoServer

    def deniable(action, method):
        def guarded(self):
            if action in DENIED:
                raise JsonRESTError(
                    "AccessDeniedException",
                    f"User: arn:aws:iam::{ARGS['account']}:user/ci is not authorized to perform: "
                    f"ecr:{action} on resource: arn:aws:ecr:{ARGS['region']}:{ARGS['account']}:"
                    f"repository/* because no identity-based policy allows the ecr:{action} action")
            return method(self)
        return guarded

    ECRResponse.create_repository = deniable("CreateRepository", ECRResponse.create_repository)

    MOTO = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    MOTO.start()

    def ecr():
        return ecr_backends[ARGS["account"]][ARGS["region"]]


def repository_of(path):
    match = re.match(r"^/v2/(.+?)/(blobs|manifests|tags)/", path)
    return match.group(1) if match else None


def error_body(code, message):
    return json.dumps({"errors": [{"code": code, "message": message}]}).encode()


class Front(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body_length(self):
        return int(self.headers.get("Content-Length") or 0)

    def read_body(self):
        return self.rfile.read(self.body_length())

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        with LOCK:
            REQUESTS.append({"method": self.command, "path": url.path})
        if MODE == "ecr":
            self.ecr(url)
        else:
            self.harbor(url)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

    # ---- ECR ----
    def ecr(self, url):
        password = f"{ARGS['account']}-auth-token"
        expected = "Basic " + base64.b64encode(f"AWS:{password}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.read_body()
            challenge = f'Basic realm="https://{self.headers.get("Host")}/",service="ecr.amazonaws.com"'
            return self.reply(401, error_body("DENIED", "Not Authorized"),
                              [("WWW-Authenticate", challenge)])
        if url.path == "/v2/":
            return self.reply(200, b"{}")
        if url.path.startswith("/v2/_catalog"):
            return self.reply(405, error_body("UNSUPPORTED", "The operation is unsupported."))
        name = repository_of(url.path)
        if name is not None and name not in ecr().repositories:
            if self.command == "POST" and "/blobs/uploads" in url.path:
                # ECR ends the request without an answer.
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.read_body()
            return self.reply(404, error_body(
                "NAME_UNKNOWN",
                f"The repository with name '{name}' does not exist in the registry with id "
                f"'{ARGS['account']}'"))
        if self.command == "PATCH":
            return self.ecr_patch(url)
        if self.command == "PUT" and "/manifests/" in url.path:
            return self.ecr_manifest(url, name)
        self.forward(url)

    def ecr_patch(self, url):
        size = self.body_length()
        with LOCK:
            upload = UPLOADS.setdefault(url.path.rsplit("/", 1)[-1], {"sizes": [], "range": None})
            sizes = list(upload["sizes"])
        if sizes and sizes[-1] < 5 * MIB:
            self.read_body()
            return self.reply(400, error_body(
                "BLOB_UPLOAD_INVALID",
                f"Layer part size {sizes[-1]} is smaller than the minimum of 5242880 bytes"))
        status, headers, _ = self.forward(url, send=False)
        if status == 202:
            status = 201
        with LOCK:
            upload["sizes"].append(size)
            if ARGS["stale_range"]:
                if len(upload["sizes"]) >= 2 and upload["range"] is not None:
                    headers = [(n, upload["range"] if n.lower() == "range" else v)
                               for n, v in headers]
                elif upload["range"] is None:
                    upload["range"] = next((v for n, v in headers if n.lower() == "range"), None)
        self.reply(status, b"", headers)

    def ecr_manifest(self, url, name):
        manifest = self.read_body()
        try:
            parsed = json.loads(manifest)
        except ValueError:
            parsed = {}
        if "artifactType" in parsed:
            return self.reply(405, error_body(
                "UNSUPPORTED",
                "Invalid parameter at 'ImageManifest' failed to satisfy constraint: "
                "'Invalid JSON syntax'"))
        reference = url.path.rsplit("/", 1)[-1]
        if not reference.startswith("sha256:"):
            try:
                ecr().put_image(name, manifest.decode(), reference)
            except Exception as err:  # moto's ImageAlreadyExistsException and kin
                return self.reply(400, error_body("TAG_INVALID", str(err)))
        self.forward(url, body=manifest)

    # ---- Harbor ----
    def harbor(self, url):
        credential = base64.b64encode(f"{ARGS['user']}:{ARGS['password']}".encode()).decode()
        if self.headers.get("Authorization") != "Basic " + credential:
            self.read_body()
            return self.reply(401, error_body("UNAUTHORIZED", "unauthorized"),
                              [("WWW-Authenticate", 'Basic realm="harbor"')])
        if url.path.startswith("/v2/_catalog"):
            self.read_body()
            return self.reply(401, error_body(
                "UNAUTHORIZED", "unauthorized to list catalog: unauthorized to list catalog"))
        match = re.match(r"^/api/v2\.0/projects/([^/]+)/repositories$", url.path)
        if match and self.command == "GET":
            return self.harbor_repositories(url, urllib.parse.unquote(match.group(1)))
        self.forward(url)

    def harbor_repositories(self, url, project):
        query = urllib.parse.parse_qs(url.query)
        page = int(query.get("page", ["1"])[0])
        size = min(int(query.get("page_size", ["10"])[0]), 100)
        _, _, body = upstream_request("GET", "/v2/_catalog?n=1000", {})
        names = sorted(n for n in json.loads(body).get("repositories", [])
                       if n.startswith(project + "/"))
        chosen = names[(page - 1) * size: page * size]
        items = [{"id": i, "name": n, "project_id": 1, "artifact_count": 1}
                 for i, n in enumerate(chosen, start=(page - 1) * size + 1)]
        headers = [("X-Total-Count", str(len(names)))]
        if page * size < len(names):
            headers.append(("Link", f'</api/v2.0/projects/{project}/repositories?page={page + 1}'
                                    f'&page_size={size}>; rel="next"'))
        self.reply(200, json.dumps(items).encode(), headers)

    # ---- forwarding ----
    def forward(self, url, body=None, send=True):
        """Sends the request upstream, the body streamed; answers with the upstream's answer
        unless `send` is false, in which case the status and headers come back (the body is
        drained: PATCH answers have none)."""
        connection = http.client.HTTPConnection(UPSTREAM, timeout=600)
        path = url.path + ("?" + url.query if url.query else "")
        connection.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
        length = len(body) if body is not None else self.body_length()
        for name, value in self.headers.items():
            if name.lower() in ("content-length", "authorization", "connection"):
                continue
            connection.putheader(name, value)
        connection.putheader("X-Forwarded-Proto", "https")
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        if body is not None:
            connection.send(body)
        else:
            left = length
            while left > 0:
                piece = self.rfile.read(min(left, MIB))
                if not piece:
                    break
                connection.send(piece)
                left -= len(piece)
        answer = connection.getresponse()
        headers = [(n, v) for n, v in answer.getheaders()
                   if n.lower() not in ("content-length", "connection", "transfer-encoding")]
        if not send:
            answer.read()
            connection.close()
            return answer.status, headers, b""
        total = answer.getheader("Content-Length")
        self.send_response(answer.status)
        for name, value in headers:
            self.send_header(name, value)
        if total is not None:
            self.send_header("Content-Length", total)
            self.end_headers()
            while self.command != "HEAD":
                piece = answer.read(MIB)
                if not piece:
                    break
                self.wfile.write(piece)
        else:
            data = answer.read()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        connection.close()
        return answer.status, headers, b""


def upstream_request(method, path, headers):
    connection = http.client.HTTPConnection(UPSTREAM, timeout=60)
    connection.request(method, path, headers=headers)
    answer = connection.getresponse()
    data = answer.read()
    connection.close()
    return answer.status, answer.getheaders(), data


class Control(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, value, status=200):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/deny/"):
            DENIED.add(url.path[len("/deny/"):])
            return self.answer({"denied": sorted(DENIED)})
        name = url.path[len("/repositories/"):]
        mutability = "IMMUTABLE" if "immutable=1" in url.query else "MUTABLE"
        ecr().create_repository(
            repository_name=name, registry_id=None, encryption_config={"encryptionType": "AES256"},
            image_scan_config={"scanOnPush": False}, image_tag_mutability=mutability, tags=[])
        self.answer({"created": name})

    def do_GET(self):
        if self.path == "/requests":
            with LOCK:
                return self.answer(list(REQUESTS))
        repositories = {}
        for name, repository in ecr().repositories.items():
            repositories[name] = {
                "tags": sorted(t for i in repository.images for t in (i.image_tags or [])),
                "mutability": repository.image_tag_mutability,
                "tagged": ecr().list_tags_for_resource(repository.arn),
            }
        self.answer(repositories)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    front = Server(("127.0.0.1", 0), Front)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ARGS["cert"], ARGS["key"])
    front.socket = context.wrap_socket(front.socket, server_side=True)
    control = Server(("127.0.0.1", 0), Control)
    if MODE == "ecr":
        print("moto", MOTO.get_host_and_port()[1], flush=True)
    print("registry", front.server_address[1], flush=True)
    print("control", control.server_address[1], flush=True)
    for server in (front, control):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()


main()
