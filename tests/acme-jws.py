#!/usr/bin/python3
"""acme-jws.py - raw ACME requests for tests/77-acme-account.sh and
tests/81-acme-revoke.sh.

Signs requests with python3-jwcrypto (an implementation independent of
certpipe's) and prints one line: "STATUS TYPE LOCATION", where TYPE is the
problem type without urn:ietf:params:acme:error: (or "-") and LOCATION the
Location header (or "-"). The body goes to stderr.

    acme-jws.py key FILE [ec256|ec384|rsa2048|ed25519|rsa1024]
    acme-jws.py pemkey FILE PEMFILE     (a PEM private key as a JWK)
    acme-jws.py nonce BASE
    acme-jws.py post BASE KEYFILE URL PAYLOAD [options]
    acme-jws.py keychange BASE KEYFILE ACCT NEWKEYFILE [--inner-url U]
    acme-jws.py keepalive BASE KEYFILE ACCT NEWKEYFILE
                        on ONE connection: the account read with
                        KEYFILE, keyChange to NEWKEYFILE, the account read
                        with KEYFILE, then with NEWKEYFILE; prints the
                        four statuses
    acme-jws.py keyauth KEYFILE TOKEN     key authorization (8.1)
    acme-jws.py dns01 KEYFILE TOKEN       its TXT value (8.4)
    acme-jws.py b64u FILE                 FILE's bytes in base64url
    acme-jws.py get FILE PATH             a value of a JSON file: PATH
                                          like "authorizations.0" ("" when
                                          missing; lists one a line)

PAYLOAD is JSON text, or "" for POST-as-GET. Options of post:
    --kid ACCT          sign with kid ACCT instead of jwk
    --both ACCT         put both jwk and kid ACCT in the header
    --alg ALG           claim ALG in the header (none, HS256: signed anyway)
    --url URL           url header (default: the request URL)
    --nonce N           use this nonce (default: a fresh one)
    --eab KID:B64KEY    add externalAccountBinding to the payload
    --eab-alg ALG       its MAC alg (default HS256)
    --eab-url URL       its url (default: the request URL)
    --eab-nonce         put a nonce in the EAB header (forbidden)
    --ctype TYPE        Content-Type (default application/jose+json)
    --nonce-out FILE    write the nonce used to FILE
"""
import base64
import json
import sys
import urllib.error
import urllib.request

from jwcrypto import jwk, jws
from jwcrypto.common import json_encode


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def http(method, url, body=None, ctype=None):
    req = urllib.request.Request(url, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def nonce(base):
    st, h, _ = http("HEAD", base + "/acme/new-nonce")
    if st != 200 or "Replay-Nonce" not in h:
        sys.exit("acme-jws: new-nonce: status %d" % st)
    return h["Replay-Nonce"]


def load(path):
    with open(path) as f:
        return jwk.JWK.from_json(f.read())


def alg_of(k):
    d = k.export_public(as_dict=True)
    if d["kty"] == "RSA":
        return "RS256"
    if d["kty"] == "OKP":
        return "EdDSA"
    return {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[d["crv"]]


def sign(k, protected, payload, alg=None):
    """A flattened JWS; with alg given the header claims it while the
    signature is made with the key's own algorithm."""
    s = jws.JWS(payload)
    real = alg_of(k) if k is not None and k.get("kty") != "oct" else "HS256"
    hdr = dict(protected)
    hdr["alg"] = real
    s.add_signature(k, alg=real, protected=json_encode(hdr))
    o = json.loads(s.serialize(compact=False))
    if alg is not None:
        hdr["alg"] = alg
        o["protected"] = b64u(json_encode(hdr).encode())
    return o


def eab(kid, key, url, acct_key, alg, with_nonce):
    mac = jwk.JWK(kty="oct", k=key)
    hdr = {"alg": alg, "kid": kid, "url": url}
    if with_nonce:
        hdr["nonce"] = "x"
    s = jws.JWS(acct_key.export_public())
    s.add_signature(mac, alg=alg, protected=json_encode(hdr))
    return json.loads(s.serialize(compact=False))


def report(st, h, body):
    t = "-"
    if h.get("Content-Type", "").startswith("application/problem+json"):
        t = json.loads(body)["type"].replace(
            "urn:ietf:params:acme:error:", "")
    sys.stderr.write(body.decode(errors="replace") + "\n")
    print(st, t, h.get("Location", "-"))


def post(argv):
    base, keyfile, url, payload = argv[:4]
    opts = {}
    i = 4
    flags = ("--eab-nonce",)
    while i < len(argv):
        if argv[i] in flags:
            opts[argv[i]] = True
            i += 1
        else:
            opts[argv[i]] = argv[i + 1]
            i += 2
    k = load(keyfile)
    n = opts.get("--nonce") or nonce(base)
    if "--nonce-out" in opts:
        with open(opts["--nonce-out"], "w") as f:
            f.write(n)
    hdr = {"nonce": n, "url": opts.get("--url", url)}
    if "--kid" in opts:
        hdr["kid"] = opts["--kid"]
    else:
        hdr["jwk"] = k.export_public(as_dict=True)
    if "--both" in opts:
        hdr["kid"] = opts["--both"]
    if payload != "" and "--eab" in opts:
        p = json.loads(payload)
        kid, key = opts["--eab"].split(":", 1)
        p["externalAccountBinding"] = eab(
            kid, key, opts.get("--eab-url", url), k,
            opts.get("--eab-alg", "HS256"), "--eab-nonce" in opts)
        payload = json.dumps(p)
    body = sign(k, hdr, payload.encode(), opts.get("--alg"))
    st, h, b = http("POST", url, json.dumps(body).encode(),
                    opts.get("--ctype", "application/jose+json"))
    if "--hdr-out" in opts:
        with open(opts["--hdr-out"], "w") as f:
            f.writelines("%s: %s\n" % kv for kv in h.items())
    report(st, h, b)


def keychange(argv):
    base, keyfile, acct, newfile = argv[:4]
    k, nk = load(keyfile), load(newfile)
    url = base + "/acme/key-change"
    inner_url = argv[5] if len(argv) > 5 and argv[4] == "--inner-url" \
        else url
    inner = sign(nk, {"jwk": nk.export_public(as_dict=True),
                      "url": inner_url},
                 json.dumps({"account": acct,
                             "oldKey": k.export_public(as_dict=True)})
                 .encode())
    outer = sign(k, {"kid": acct, "nonce": nonce(base), "url": url},
                 json.dumps(inner).encode())
    report(*http("POST", url, json.dumps(outer).encode(),
                 "application/jose+json"))


def keepalive(argv):
    import http.client
    import urllib.parse
    base, keyfile, acct, newfile = argv[:4]
    k, nk = load(keyfile), load(newfile)
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.netloc, timeout=10)
    n = [nonce(base)]

    def send(url, obj):
        c.request("POST", urllib.parse.urlsplit(url).path,
                  json.dumps(obj).encode(),
                  {"Content-Type": "application/jose+json"})
        r = c.getresponse()
        r.read()
        n[0] = r.getheader("Replay-Nonce")
        return r.status

    def read(key):
        return send(acct, sign(key, {"kid": acct, "nonce": n[0],
                                     "url": acct}, b""))

    out = [read(k)]
    url = base + "/acme/key-change"
    inner = sign(nk, {"jwk": nk.export_public(as_dict=True), "url": url},
                 json.dumps({"account": acct,
                             "oldKey": k.export_public(as_dict=True)})
                 .encode())
    out.append(send(url, sign(k, {"kid": acct, "nonce": n[0], "url": url},
                              json.dumps(inner).encode())))
    out += [read(k), read(nk)]
    print(" ".join(str(x) for x in out))


def keyauth(keyfile, token):
    return token + "." + load(keyfile).thumbprint()


def get(path, expr):
    with open(path) as f:
        v = json.load(f)
    for part in [p for p in expr.split(".") if p]:
        if isinstance(v, list):
            v = v[int(part)] if int(part) < len(v) else None
        elif isinstance(v, dict):
            v = v.get(part)
        if v is None:
            return
    if isinstance(v, list):
        for x in v:
            print(x if isinstance(x, str) else json.dumps(x))
    elif isinstance(v, (dict, bool)):
        print(json.dumps(v))
    else:
        print(v)


def main():
    cmd, argv = sys.argv[1], sys.argv[2:]
    if cmd == "keyauth":
        print(keyauth(argv[0], argv[1]))
    elif cmd == "dns01":
        import hashlib
        print(b64u(hashlib.sha256(keyauth(argv[0], argv[1]).encode())
                   .digest()))
    elif cmd == "b64u":
        with open(argv[0], "rb") as f:
            print(b64u(f.read()))
    elif cmd == "get":
        get(argv[0], argv[1])
    elif cmd == "key":
        kind = argv[1] if len(argv) > 1 else "ec256"
        k = {"ec256": lambda: jwk.JWK.generate(kty="EC", crv="P-256"),
             "ec384": lambda: jwk.JWK.generate(kty="EC", crv="P-384"),
             "rsa2048": lambda: jwk.JWK.generate(kty="RSA", size=2048),
             "rsa1024": lambda: jwk.JWK.generate(kty="RSA", size=1024),
             "ed25519": lambda: jwk.JWK.generate(kty="OKP", crv="Ed25519"),
             }[kind]()
        with open(argv[0], "w") as f:
            f.write(k.export_private())
    elif cmd == "pemkey":
        with open(argv[1], "rb") as f:
            k = jwk.JWK.from_pem(f.read())
        with open(argv[0], "w") as f:
            f.write(k.export_private())
    elif cmd == "nonce":
        print(nonce(argv[0]))
    elif cmd == "post":
        post(argv)
    elif cmd == "keychange":
        keychange(argv)
    elif cmd == "keepalive":
        keepalive(argv)
    else:
        sys.exit("acme-jws: unknown command " + cmd)


if __name__ == "__main__":
    main()
