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

  /* Opens the PKCS#12: {key, certDer, certAsn1, chainDer[]} of the RSA key and its certificate. */
  function openKeyFile(bytes, password) {
    var forge = f(), asn1 = forge.asn1, p12;
    var der = bytesToBinary(bytes);
    try {
      var parsed = asn1.fromDer(der);
    } catch (e) { throw fail("not_pkcs12", e); }
    try {
      p12 = forge.pkcs12.pkcs12FromAsn1(parsed, false, password);
    } catch (e) {
      var text = String(e && e.message || e);
      if (/password|MAC|decrypt|Invalid|padding/i.test(text)) throw fail("wrong_password", e);
      throw fail("not_pkcs12", e);
    }
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

  function buildCms(opened, messageDigest, content, signingTime) {
    var forge = f(), asn1 = forge.asn1, T = asn1.Type, U = asn1.Class.UNIVERSAL, CTX = asn1.Class.CONTEXT_SPECIFIC;
    function seq(items) { return asn1.create(U, T.SEQUENCE, true, items); }
    function set(items) { return asn1.create(U, T.SET, true, items); }
    function oid(s) { return asn1.create(U, T.OID, false, asn1.oidToDer(s).getBytes()); }
    function octets(b) { return asn1.create(U, T.OCTETSTRING, false, b); }
    function int(n) { return asn1.create(U, T.INTEGER, false, asn1.integerToDer(n).getBytes()); }
    function nul() { return asn1.create(U, T.NULL, false, ""); }
    function attr(type, value) { return seq([oid(type), set([value])]); }
    function copy(node) { return asn1.fromDer(asn1.toDer(node).getBytes()); }

    var tbs = opened.certAsn1.value[0].value;  // TBSCertificate: [0] version?, serial, sigAlg, issuer, ...
    var at = tbs[0].tagClass === CTX ? 1 : 0;
    var serial = tbs[at], issuer = tbs[at + 2];
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
    var md = forge.md.sha256.create();
    md.update(asn1.toDer(set(sorted)).getBytes());
    var signature = opened.key.sign(md);  // RSASSA-PKCS1-v1_5 over the DER SET OF the signed attributes

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
    return forgeLoaded(20000).then(function () { return readFile(opts.file); }).then(function (fileBytes) {
      var opened = openKeyFile(fileBytes, password);
      password = null;
      var digestPromise = opts.digested ? Promise.resolve(bytesToBinary(data)) : sha256(data);
      return digestPromise.then(function (digest) {
        var content = opts.attached && !opts.digested ? bytesToBinary(data) : null;
        try {
          return buildCms(opened, digest, content, new Date());
        } catch (e) { throw fail("failed", e); }
      });
    });
  }

  window.HomeportalSigners = window.HomeportalSigners || {};
  window.HomeportalSigners.keyfile = {signCms: signCms};
})();
