"""bench/acme-load.py - the load client of bench/acme (not run by itself).

    python3 bench/acme-load.py DIRECTORY-URL PROCS ORDERS SUFFIX KID:KEY [CAFILE]

PROCS processes, each with its own account (registered with the EAB key
KID:KEY, outside the timed part) and one keep-alive connection, issue
ORDERS orders in all for one name each (wPROC-N.SUFFIX): newOrder; for
each authorization still pending, its http-01 challenge is posted and the
authorization polled (a server validating everything says valid); the
order polled until ready; finalize with a fresh CSR; the order polled
until valid, timed from the finalize request to the poll that sees
"valid"; the certificate downloaded and checked to be a PEM chain. Every
poll waits the same 10 ms, whatever Retry-After says, so both servers are
measured alike. One line of JSON on stdout: orders, seconds (wall, from
the moment every process has its account to the last certificate),
orders_per_s, p50_ms, p99_ms (finalize -> valid), errors. Exit 1 if any
order failed. Signs with python3-jwcrypto, an implementation independent
of certpipe's.
"""
import base64
import http.client
import json
import multiprocessing
import ssl
import sys
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwcrypto import jwk, jws
from jwcrypto.common import json_encode

POLL = 0.010
WAIT = 30.0  # seconds at most for any one wait


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Client:
    def __init__(self, dir_url, cafile):
        u = urllib.parse.urlsplit(dir_url)
        self.https = u.scheme == "https"
        self.host = u.netloc
        self.ctx = None
        if self.https:
            self.ctx = ssl.create_default_context(cafile=cafile)
        self.conn = None
        self.nonce = None
        self.key = jwk.JWK.generate(kty="EC", crv="P-256")
        self.pub = self.key.export_public(as_dict=True)
        self.kid = None
        self.dir = json.loads(self.req("GET", dir_url)[2])

    def connect(self):
        if self.https:
            self.conn = http.client.HTTPSConnection(
                self.host, timeout=30, context=self.ctx)
        else:
            self.conn = http.client.HTTPConnection(self.host, timeout=30)

    def req(self, method, url, body=None):
        hdrs = {"Content-Type": "application/jose+json"} if body else {}
        u = urllib.parse.urlsplit(url)
        path = u.path + ("?" + u.query if u.query else "")
        for attempt in (0, 1):
            if self.conn is None:
                self.connect()
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.HTTPException, OSError):
                # the server closed a keep-alive connection: once more
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        n = r.getheader("Replay-Nonce")
        if n:
            self.nonce = n
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return r.status, r, data

    def post(self, url, payload, eab=None):
        if self.nonce is None:
            self.req("HEAD", self.dir["newNonce"])
        hdr = {"alg": "ES256", "nonce": self.nonce, "url": url}
        self.nonce = None
        if self.kid:
            hdr["kid"] = self.kid
        else:
            hdr["jwk"] = self.pub
        if payload is None:
            body = b""
        else:
            if eab:
                payload = dict(payload, externalAccountBinding=eab)
            body = json.dumps(payload).encode()
        s = jws.JWS(body)
        s.add_signature(self.key, alg="ES256", protected=json_encode(hdr))
        st, r, data = self.req("POST", url, s.serialize(compact=False))
        if st >= 400:
            raise RuntimeError("%s: %d %s" % (url, st, data[:200]))
        return st, r, data

    def register(self, kid, mac):
        url = self.dir["newAccount"]
        s = jws.JWS(json_encode(self.pub))
        s.add_signature(jwk.JWK(kty="oct", k=mac), alg="HS256",
                        protected=json_encode(
                            {"alg": "HS256", "kid": kid, "url": url}))
        _, r, _ = self.post(url, {"termsOfServiceAgreed": True},
                            json.loads(s.serialize(compact=False)))
        self.kid = r.getheader("Location")

    def get(self, url):
        return json.loads(self.post(url, None)[2])

    def wait(self, url, want):
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            o = self.get(url)
            if o["status"] in want:
                return o
            if o["status"] == "invalid":
                raise RuntimeError("%s invalid: %s" % (url, o.get("error")))
            time.sleep(POLL)
        raise RuntimeError("%s: still %s" % (url, o["status"]))

    def order(self, name, certkey):
        st, r, data = self.post(self.dir["newOrder"], {
            "identifiers": [{"type": "dns", "value": name}]})
        url = r.getheader("Location")
        o = json.loads(data)
        for a in o["authorizations"]:
            az = self.get(a)
            if az["status"] == "pending":
                ch = [c for c in az["challenges"] if c["type"] == "http-01"]
                self.post(ch[0]["url"], {})
                self.wait(a, ("valid",))
        if o["status"] != "ready":
            o = self.wait(url, ("ready",))
        csr = x509.CertificateSigningRequestBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        ).add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]),
                        critical=False).sign(certkey, hashes.SHA256())
        der = csr.public_bytes(serialization.Encoding.DER)
        t0 = time.monotonic()
        st, r, data = self.post(o["finalize"], {"csr": b64u(der)})
        o = json.loads(data)
        if o["status"] != "valid":
            o = self.wait(url, ("valid",))
        t1 = time.monotonic()
        pem = self.post(o["certificate"], None)[2]
        if pem.count(b"-----BEGIN CERTIFICATE-----") < 2:
            raise RuntimeError("%s: not a PEM chain" % o["certificate"])
        return t1 - t0


def worker(args):
    i, n, dir_url, suffix, eab, cafile, barrier, q = args
    lat, err = [], []
    try:
        c = Client(dir_url, cafile)
        kid, mac = eab.split(":", 1)
        c.register(kid, mac)
        certkey = ec.generate_private_key(ec.SECP256R1())
    except Exception as e:  # noqa: BLE001 - reported, counted
        err.append("register: %s" % e)
        c = None
    barrier.wait()
    for k in range(n):
        if c is None:
            break
        try:
            lat.append(c.order("w%d-%d.%s" % (i, k, suffix), certkey))
        except Exception as e:  # noqa: BLE001 - reported, counted
            err.append(str(e))
    q.put((lat, err, time.monotonic()))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    dir_url, procs, orders, suffix, eab = sys.argv[1:6]
    cafile = sys.argv[6] if len(sys.argv) > 6 else None
    procs, orders = int(procs), int(orders)
    barrier = multiprocessing.Barrier(procs + 1)
    q = multiprocessing.Queue()
    ps = []
    for i in range(procs):
        n = orders // procs + (1 if i < orders % procs else 0)
        p = multiprocessing.Process(target=worker, args=(
            (i, n, dir_url, suffix, eab, cafile, barrier, q),))
        p.start()
        ps.append(p)
    barrier.wait(timeout=120)
    t0 = time.monotonic()
    lat, err, end = [], [], t0
    for _ in ps:
        a, e, t = q.get(timeout=600)
        lat += a
        err += e
        end = max(end, t)
    for p in ps:
        p.join()
    secs = end - t0
    print(json.dumps({
        "orders": len(lat), "seconds": round(secs, 3),
        "orders_per_s": round(len(lat) / secs, 1) if secs else 0,
        "p50_ms": round(pct(lat, 50) * 1000, 1) if lat else None,
        "p99_ms": round(pct(lat, 99) * 1000, 1) if lat else None,
        "errors": len(err)}))
    for e in err[:5]:
        sys.stderr.write("acme-load: %s\n" % e)
    sys.exit(1 if err else 0)


if __name__ == "__main__":
    main()
