/* The key file signed in the page (issue #11): the PKCS#12 is read by the browser, opened with
 * node-forge (static/vendor/node-forge-*.min.js: PBES2/AES and the legacy
 * pbeWithSHAAnd3-KeyTripleDES-CBC / pbeWithSHAAnd40BitRC2-CBC encryptions) and the CMS
 * (CAdES-BES: content-type, signing-time, message-digest, signing-certificate-v2; sha256WithRSA)
 * is built here. Neither the file nor the password leaves the page: only the CMS is returned.
 *
 *   window.HomeportalSigners.keyfile.signCms({dataB64, digested, attached, file, password})
 *     -> Promise<base64 DER CMS>; rejects with an Error whose .code is
 *        'not_pkcs12' | 'wrong_password' | 'not_rsa' | 'failed'.
 * digested: dataB64 is the SHA-256 of the content (a PDF's /ByteRange for PAdES): it becomes the
 * message-digest attribute. attached: the content goes into the CMS (never with digested). */
(function () {
  "use strict";
  var OID = {
    data: "1.2.840.113549.1.7.1", signedData: "1.2.840.113549.1.7.2", contentType: "1.2.840.113549.1.9.3",
    messageDigest: "1.2.840.113549.1.9.4", signingTime: "1.2.840.113549.1.9.5",
    signingCertificateV2: "1.2.840.113549.1.9.16.2.47", sha256: "2.16.840.1.101.3.4.2.1",
    sha256WithRSA: "1.2.840.113549.1.1.11",
  };

  function fail(code, cause) {
    var err = new Error(code + (cause && cause.message ? ": " + cause.message : ""));
    err.code = code;
    return err;
  }

  function f() {
    if (!window.forge) throw fail("failed", new Error("node-forge is not loaded"));
    return window.forge;
  }

  // node-forge arrives by its own <script> (after an htmx swap the two load in any order, and on
  // a slow line later than the user's click): wait for it rather than fail.
  function forgeLoaded(timeoutMs) {
    var started = Date.now();
    return new Promise(function (resolve, reject) {
      (function poll() {
        if (window.forge) return resolve();
        if (Date.now() - started > timeoutMs) return reject(fail("failed", new Error("node-forge is not loaded")));
        setTimeout(poll, 50);
      })();
    });
  }

  function bytesToBinary(bytes) {
    var out = [], CHUNK = 0x8000;
    for (var i = 0; i < bytes.length; i += CHUNK) out.push(String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK)));
    return out.join("");
  }

  function binaryToBytes(bin) {
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function readFile(file) {
    if (file instanceof ArrayBuffer) return Promise.resolve(new Uint8Array(file));
    if (file instanceof Uint8Array) return Promise.resolve(file);
    if (!file) return Promise.reject(fail("not_pkcs12"));
    if (file.arrayBuffer) return file.arrayBuffer().then(function (b) { return new Uint8Array(b); });
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(new Uint8Array(reader.result)); };
      reader.onerror = function () { reject(fail("not_pkcs12")); };
      reader.readAsArrayBuffer(file);
    });
  }

  function sha256(bytes) {
    var subtle = window.crypto && window.crypto.subtle;
    if (subtle) {
      return subtle.digest("SHA-256", bytes).then(function (d) { return bytesToBinary(new Uint8Array(d)); });
    }
    var md = f().md.sha256.create();
    md.update(bytesToBinary(bytes));
    return Promise.resolve(md.digest().getBytes());
  }

  /* Passwords are Unicode (a Kazakh user's may be «Құпия2024»), and PKCS#12 encodes them two ways:
   *  - PBES2 (PBKDF2, RFC 8018; what OpenSSL 3 / cryptography / newer Java write): the password's
   *    UTF-8 bytes. forge's PBKDF2 feeds the JS string straight into its HMAC (right for ASCII only),
   *    so every PBKDF2 call of the opening is answered here with the UTF-8 bytes;
   *  - the PKCS#12 KDF (RFC 7292 appendix B: the legacy pbeWithSHAAnd3-KeyTripleDES-CBC /
   *    pbeWithSHAAnd40BitRC2-CBC and the MAC of every file): a BMPString, UTF-16BE + two zero bytes.
   *    forge's generatePkcs12Key writes charCodeAt() as 16 bits + 0x0000, i.e. exactly that, so the
   *    JS string is given to it unchanged.
   * Speed: PBES2 keys are derived by WebCrypto (native PBKDF2) before forge opens the file; forge's
   * pure-JS PBKDF2 takes ~0.7 s for a file OpenSSL 3 / cryptography wrote. Every PBKDF2 parameter set
   * in the file is found by walking its ASN.1 (nested OCTET STRINGs too); forge.pkcs5.pbkdf2 then
   * answers those from the table and falls back to its own code (with the UTF-8 bytes) otherwise. */
  var PBKDF2 = "1.2.840.113549.1.5.12";
  var PRF = {"1.2.840.113549.2.7": "SHA-1", "1.2.840.113549.2.9": "SHA-256", "1.2.840.113549.2.10": "SHA-384",
             "1.2.840.113549.2.11": "SHA-512"};
  var PRF_FORGE = {"SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"};

  function utf8(password) {
    if (window.TextEncoder) return new TextEncoder().encode(password);
    return binaryToBytes(unescape(encodeURIComponent(password)));
  }

  function pbkdf2Params(node, out, depth) {
    var forge = f(), asn1 = forge.asn1;
    if (!node || depth > 14) return out;
    if (Array.isArray(node.value)) {
      var v = node.value;
      if (v.length === 2 && v[0].type === asn1.Type.OID && asn1.derToOid(v[0].value) === PBKDF2 && Array.isArray(v[1].value)) {
        var p = v[1].value, salt = p[0] && p[0].value, iter = p[1] && forge.util.createBuffer(p[1].value).getInt(p[1].value.length * 8);
        var prf = "SHA-1", keyLen = null;
        for (var i = 2; i < p.length; i++) {
          if (p[i].type === asn1.Type.INTEGER) keyLen = forge.util.createBuffer(p[i].value).getInt(p[i].value.length * 8);
          else if (Array.isArray(p[i].value) && p[i].value[0]) prf = PRF[asn1.derToOid(p[i].value[0].value)] || "";
        }
        if (typeof salt === "string" && iter > 0 && prf) out.push({salt: salt, iter: iter, prf: prf, keyLen: keyLen});
        return out;
      }
      v.forEach(function (c) { pbkdf2Params(c, out, depth + 1); });
    } else if (node.type === asn1.Type.OCTETSTRING && typeof node.value === "string" && node.value.length > 8) {
      try { pbkdf2Params(asn1.fromDer(node.value), out, depth + 1); } catch (e) { /* not DER inside */ }
    }
    return out;
  }

  function nativePbkdf2(parsed, pw) {
    var subtle = window.crypto && window.crypto.subtle, table = {};
    if (!subtle) return Promise.resolve(table);
    var params;
    try { params = pbkdf2Params(parsed, [], 0); } catch (e) { return Promise.resolve(table); }
    if (!params.length) return Promise.resolve(table);
    return subtle.importKey("raw", pw, "PBKDF2", false, ["deriveBits"]).then(function (base) {
      return Promise.all(params.map(function (p) {
        var lengths = p.keyLen ? [p.keyLen] : [16, 24, 32];  // AES-128/192/256 when the file does not say
        return Promise.all(lengths.map(function (len) {
          return subtle.deriveBits({name: "PBKDF2", salt: binaryToBytes(p.salt), iterations: p.iter, hash: p.prf}, base, len * 8)
            .then(function (bits) { table[[p.salt, p.iter, len, PRF_FORGE[p.prf]].join("|")] = bytesToBinary(new Uint8Array(bits)); });
        }));
      }));
    }).then(function () { return table; }, function () { return table; });
  }

  function withPasswordEncodings(parsed, password, open) {
    var forge = f(), pw = utf8(password), pwBinary = bytesToBinary(pw);
    return nativePbkdf2(parsed, pw).then(function (table) {
      var original = forge.pkcs5.pbkdf2;
      forge.pkcs5.pbkdf2 = function (pass, salt, iter, len, md, callback) {
        if (pass !== password) return original.apply(this, arguments);
        var name = typeof md === "string" ? md : (md && md.algorithm) || "sha1";
        var hit = typeof callback !== "function" ? table[[salt, iter, len, name].join("|")] : undefined;
        if (hit !== undefined) return hit;
        var args = Array.prototype.slice.call(arguments);
        args[0] = pwBinary;  // PBKDF2 takes the UTF-8 bytes
        return original.apply(this, args);
      };
      try { return open(); } finally { forge.pkcs5.pbkdf2 = original; }
    });
  }

  /* Opens the PKCS#12: {key, certDer, certAsn1, chainDer[]} of the RSA key and its certificate. */
  function openKeyFile(bytes, password) {
    var forge = f(), asn1 = forge.asn1;
    var der = bytesToBinary(bytes), parsed;
    try {
      parsed = asn1.fromDer(der);
    } catch (e) { return Promise.reject(fail("not_pkcs12", e)); }
    return withPasswordEncodings(parsed, password, function () {
      try {
        return forge.pkcs12.pkcs12FromAsn1(parsed, false, password);
      } catch (e) {
        var text = String(e && e.message || e);
        if (/password|MAC|decrypt|Invalid|padding/i.test(text)) throw fail("wrong_password", e);
        throw fail("not_pkcs12", e);
      }
    }).then(function (p12) { return keyAndCertificates(forge, p12); });
  }

  function keyAndCertificates(forge, p12) {
    var asn1 = forge.asn1;
    var keyBags = (p12.getBags({bagType: forge.pki.oids.pkcs8ShroudedKeyBag})[forge.pki.oids.pkcs8ShroudedKeyBag] || [])
      .concat(p12.getBags({bagType: forge.pki.oids.keyBag})[forge.pki.oids.keyBag] || []);
    var certBags = p12.getBags({bagType: forge.pki.oids.certBag})[forge.pki.oids.certBag] || [];
    if (!keyBags.length) throw fail("wrong_password");
    var key = null;
    for (var i = 0; i < keyBags.length && !key; i++) key = keyBags[i].key;
    if (!key || !key.n) throw fail("not_rsa");  // forge parses RSA keys only (GOST/EC keys stay ASN.1)
    var leaf = null, chain = [];
    certBags.forEach(function (bag) {
      if (!bag.cert) return;
      var pub = bag.cert.publicKey;
      if (!leaf && pub && pub.n && pub.n.equals(key.n)) leaf = bag.cert;
      else chain.push(bag.cert);
    });
    if (!leaf) throw fail("not_pkcs12", new Error("no certificate for the key"));
    var certAsn1 = forge.pki.certificateToAsn1(leaf);
    return {
      key: key, certAsn1: certAsn1, certDer: asn1.toDer(certAsn1).getBytes(),
      chainAsn1: chain.filter(function (c) { return !c.isIssuer(c); }).map(function (c) { return forge.pki.certificateToAsn1(c); }),
    };
  }

  /* The DER builders both halves of the CMS use, and the signer's serial and issuer from its
   * TBSCertificate ([0] version?, serial, sigAlg, issuer, ...). */
  function asn1Kit(opened) {
    var forge = f(), asn1 = forge.asn1, T = asn1.Type, U = asn1.Class.UNIVERSAL, CTX = asn1.Class.CONTEXT_SPECIFIC;
    var k = {forge: forge, asn1: asn1, T: T, U: U, CTX: CTX};
    k.seq = function (items) { return asn1.create(U, T.SEQUENCE, true, items); };
    k.set = function (items) { return asn1.create(U, T.SET, true, items); };
    k.oid = function (s) { return asn1.create(U, T.OID, false, asn1.oidToDer(s).getBytes()); };
    k.octets = function (b) { return asn1.create(U, T.OCTETSTRING, false, b); };
    k.int = function (n) { return asn1.create(U, T.INTEGER, false, asn1.integerToDer(n).getBytes()); };
    k.nul = function () { return asn1.create(U, T.NULL, false, ""); };
    k.copy = function (node) { return asn1.fromDer(asn1.toDer(node).getBytes()); };
    var tbs = opened.certAsn1.value[0].value;
    var at = tbs[0].tagClass === CTX ? 1 : 0;
    k.serial = tbs[at];
    k.issuer = tbs[at + 2];
    return k;
  }

  function buildCms(opened, messageDigest, content, signingTime) {
    var k = asn1Kit(opened), forge = k.forge, asn1 = k.asn1, T = k.T, U = k.U, CTX = k.CTX;
    var seq = k.seq, set = k.set, oid = k.oid, octets = k.octets, copy = k.copy;
    function attr(type, value) { return seq([oid(type), set([value])]); }
    var serial = k.serial, issuer = k.issuer;
    var certHash = forge.md.sha256.create();
    certHash.update(opened.certDer);
    var essCertId = seq([octets(certHash.digest().getBytes()),
      seq([seq([asn1.create(CTX, 4, true, [copy(issuer)])]), copy(serial)])]);
    var attrs = [
      attr(OID.contentType, oid(OID.data)),
      attr(OID.signingTime, asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(signingTime))),
      attr(OID.messageDigest, octets(messageDigest)),
      attr(OID.signingCertificateV2, seq([seq([essCertId])])),
    ];
    var sorted = attrs.map(function (a) { return asn1.toDer(a).getBytes(); }).sort()  // DER: SET OF sorted by encoding
      .map(function (der) { return asn1.fromDer(der); });
    return rsaSign(opened.key, asn1.toDer(set(sorted)).getBytes()).then(function (signature) {
      return assembleCms(opened, sorted, signature, content);
    });
  }

  /* RSASSA-PKCS1-v1_5 with SHA-256 over the DER SET OF the signed attributes: WebCrypto (native)
   * with the key forge decrypted (as PKCS#8), forge's own JS RSA when WebCrypto refuses it. */
  function rsaSign(key, tbs) {
    var forge = f(), subtle = window.crypto && window.crypto.subtle;
    function note(how) { if (keyfile.lastTimings) keyfile.lastTimings.rsa = how; }
    function withForge() {
      note("forge");
      var md = forge.md.sha256.create();
      md.update(tbs);
      return key.sign(md);
    }
    if (!subtle) return Promise.resolve().then(withForge);
    var pkcs8;
    try {
      pkcs8 = binaryToBytes(forge.asn1.toDer(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(key))).getBytes());
    } catch (e) { return Promise.resolve().then(withForge); }
    var alg = {name: "RSASSA-PKCS1-v1_5", hash: "SHA-256"};
    return subtle.importKey("pkcs8", pkcs8, alg, false, ["sign"]).then(function (k) {
      pkcs8.fill(0);
      return subtle.sign(alg, k, binaryToBytes(tbs));
    }).then(function (sig) { note("webcrypto"); return bytesToBinary(new Uint8Array(sig)); },
            function () { return withForge(); });
  }

  function assembleCms(opened, sorted, signature, content) {
    var k = asn1Kit(opened), forge = k.forge, asn1 = k.asn1, CTX = k.CTX;
    var seq = k.seq, set = k.set, oid = k.oid, octets = k.octets, int = k.int, nul = k.nul, copy = k.copy;
    var serial = k.serial, issuer = k.issuer;

    var signerInfo = seq([
      int(1),
      seq([copy(issuer), copy(serial)]),
      seq([oid(OID.sha256)]),
      asn1.create(CTX, 0, true, sorted.map(copy)),  // [0] IMPLICIT: the same SET OF, re-tagged
      seq([oid(OID.sha256WithRSA), nul()]),
      octets(signature),
    ]);
    var encap = [oid(OID.data)];
    if (content !== null) encap.push(asn1.create(CTX, 0, true, [octets(content)]));
    var certs = [opened.certAsn1].concat(opened.chainAsn1).map(function (c) { return asn1.toDer(c).getBytes(); })
      .sort().map(function (der) { return asn1.fromDer(der); });  // DER: SET OF sorted by encoding
    var signedData = seq([
      int(1), set([seq([oid(OID.sha256)])]), seq(encap), asn1.create(CTX, 0, true, certs), set([signerInfo]),
    ]);
    var contentInfo = seq([oid(OID.signedData), asn1.create(CTX, 0, true, [signedData])]);
    return forge.util.encode64(asn1.toDer(contentInfo).getBytes());
  }

  function signCms(opts) {
    opts = opts || {};
    var data;
    try {
      data = binaryToBytes(atob(opts.dataB64 || ""));
    } catch (e) { return Promise.reject(fail("failed", e)); }
    var password = opts.password || "";
    var now = function () { return window.performance ? performance.now() : Date.now(); };
    var t0 = now(), timings = {};
    keyfile.lastTimings = timings;  // where the time goes (bench/client_signing.py); no key material
    return forgeLoaded(20000).then(function () { return readFile(opts.file); }).then(function (fileBytes) {
      timings.read_ms = Math.round(now() - t0);
      var t1 = now();
      var openedPromise = openKeyFile(fileBytes, password).then(function (opened) {
        timings.open_ms = Math.round(now() - t1);
        return opened;
      });
      password = null;
      var digestPromise = opts.digested ? Promise.resolve(bytesToBinary(data)) : sha256(data);
      return Promise.all([openedPromise, digestPromise]).then(function (both) {
        var opened = both[0], digest = both[1], t2 = now();
        var content = opts.attached && !opts.digested ? bytesToBinary(data) : null;
        return Promise.resolve().then(function () { return buildCms(opened, digest, content, new Date()); })
          .then(function (cms) {
            timings.cms_ms = Math.round(now() - t2);
            timings.total_ms = Math.round(now() - t0);
            return cms;
          })
          .catch(function (e) { throw e && e.code ? e : fail("failed", e); });
      });
    });
  }

  var keyfile = {signCms: signCms, lastTimings: null};
  window.HomeportalSigners = window.HomeportalSigners || {};
  window.HomeportalSigners.keyfile = keyfile;
})();
