/* NCALayer client (issue #11): the page talks to NCALayer on the user's computer over its WebSocket
 * JSON protocol; the key and its password stay in NCALayer, the page gets only the CMS.
 * docs/signing.md («NCALayer») says which calls and which versions this follows:
 *
 * - on connect NCALayer sends {"result": {"version": "1.x"}};
 * - NCALayer 1.3+ (the 2022 module kz.gov.pki.knca.basics): one request
 *     {module: "kz.gov.pki.knca.basics", method: "sign", args: {allowedStorages, format: "cms", data,
 *      signingParams: {decode, encapsulate, digested}, signerParams: {extKeyUsageOids, iin, bin}, locale}}
 *   answered {status: true, body: {result: "-----BEGIN CMS-----…" | [..] }}; «Отмена»: {status: true, body: {}};
 *   an error: {status: false, code, message, details};
 * - older NCALayer (no basics module): kz.gov.pki.knca.commonUtils getActiveTokens, then
 *   createCAdESFromBase64(storage, keyType, data, attach) or createCAdESFromBase64Hash(storage,
 *   keyType, hash), answered {code: "200", responseObject: "<base64 CMS>"}; «Отмена»:
 *   {code: "500", message: "action.canceled"}.
 *
 *   window.HomeportalSigners.ncalayer.probe(timeoutMs) -> Promise<boolean>   (is NCALayer running?)
 *   window.HomeportalSigners.ncalayer.signCms({dataB64, digested, attached, purpose: "auth"|"sign",
 *                                             bin, iin, locale: "ru"|"kk"}) -> Promise<base64 DER CMS>
 *   rejects with an Error whose .code is 'cancelled' | 'unavailable' | 'wrong_password' | 'failed'
 *   (.detail: NCALayer's own words, for the console).
 *
 * The address: data-ncalayer-url on #signing-modal, on the ЭЦП panel or on <body> (settings.NCALAYER_URL),
 * else wss://127.0.0.1:13579/. */
(function () {
  "use strict";
  window.HomeportalSigners = window.HomeportalSigners || {};
  if (window.HomeportalSigners.ncalayer && window.HomeportalSigners.ncalayer.protocol) return;  // loaded twice (htmx)

  var DEFAULT_URL = "wss://127.0.0.1:13579/";
  var BASICS = "kz.gov.pki.knca.basics", COMMON = "kz.gov.pki.knca.commonUtils";
  var OID = {
    auth: "1.3.6.1.5.5.7.3.2",          // clientAuth: NCA's AUTH_RSA256 key
    sign: "1.3.6.1.5.5.7.3.4",          // emailProtection: NCA's RSA256 (signing) key
    legalEntity: "1.2.398.3.3.4.1.2",   // a legal entity's employee (НУЦ РК's user OIDs, 1.2.398.3.3.4)
  };
  // every key store NCALayer knows (the official sample's list): file keys and the hardware tokens
  var ALL_STORAGES = ["PKCS12", "AKKaztokenStore", "AKKZIDCardStore", "AKEToken72KStore", "AKEToken5110Store",
                      "AKJaCartaStore", "AKAKEYStore"];
  var CONNECT_MS = 5000;

  function error(code, detail) {
    var err = new Error("NCALayer: " + code + (detail ? " (" + detail + ")" : ""));
    err.code = code;
    err.detail = detail || "";
    return err;
  }

  function url() {
    var sources = [document.getElementById("signing-modal"), document.querySelector("[data-signing-ecp][data-ncalayer-url]"),
                   document.body];
    for (var i = 0; i < sources.length; i++) {
      var value = sources[i] && sources[i].getAttribute("data-ncalayer-url");
      if (value) return value;
    }
    return DEFAULT_URL;
  }

  function versionAtLeast(version, major, minor) {
    var m = /^(\d+)\.(\d+)/.exec(String(version || ""));
    if (!m) return true;  // unknown: try the newer call first (and fall back)
    var a = parseInt(m[1], 10), b = parseInt(m[2], 10);
    return a > major || (a === major && b >= minor);
  }

  /* One WebSocket to NCALayer. NCALayer answers requests in order and without ids, so one request
   * at a time: call() queues. */
  function Connection(address) {
    this.address = address;
    this.version = null;
    this.socket = null;
    this.waiting = [];   // [{resolve, reject}] of the requests sent, oldest first
    this.queue = Promise.resolve();
  }

  Connection.prototype.open = function (timeoutMs) {
    var self = this;
    if (this.opening) return this.opening;
    this.opening = new Promise(function (resolve, reject) {
      var done = false, socket;
      var finish = function (ok, err) {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (ok) resolve(self); else { self.close(); reject(err); }
      };
      var timer = setTimeout(function () { finish(false, error("unavailable", "no answer in " + timeoutMs + " ms")); }, timeoutMs);
      try {
        socket = new WebSocket(self.address);
      } catch (e) {  // a bad address or one the page's CSP refuses
        finish(false, error("unavailable", e && e.message));
        return;
      }
      self.socket = socket;
      socket.onmessage = function (event) {
        var data;
        try { data = JSON.parse(event.data); } catch (e) { data = {code: "500", message: "not JSON"}; }
        if (data && data.result && data.result.version && !self.waiting.length) {
          self.version = String(data.result.version);  // the greeting: {"result": {"version": "1.4"}}
          finish(true);
          return;
        }
        if (!done) { self.version = ""; finish(true); }
        var next = self.waiting.shift();
        if (next) next.resolve(data);
      };
      socket.onopen = function () {  // a version that does not greet: connected is enough
        setTimeout(function () { if (self.version === null) self.version = ""; finish(true); }, 1000);
      };
      socket.onerror = function () { finish(false, error("unavailable", "cannot connect to " + self.address)); };
      socket.onclose = function () {
        finish(false, error("unavailable", "closed"));
        self.socket = null;
        self.opening = null;
        var pending = self.waiting.splice(0);
        for (var i = 0; i < pending.length; i++) pending[i].reject(error("unavailable", "NCALayer closed the connection"));
      };
    });
    return this.opening;
  };

  Connection.prototype.close = function () {
    if (this.socket) { try { this.socket.close(); } catch (e) { /* already closed */ } }
    this.socket = null;
    this.opening = null;
  };

  Connection.prototype.call = function (request) {
    var self = this;
    var run = function () {
      return new Promise(function (resolve, reject) {
        if (!self.socket || self.socket.readyState !== 1) { reject(error("unavailable", "not connected")); return; }
        self.waiting.push({resolve: resolve, reject: reject});
        self.socket.send(JSON.stringify(request));
      });
    };
    var result = this.queue.then(run, run);
    this.queue = result.then(function () {}, function () {});
    return result;
  };

  var connection = null;

  function connect(timeoutMs) {
    var address = url();
    if (connection && connection.address === address && connection.socket && connection.socket.readyState === 1) {
      return Promise.resolve(connection);
    }
    if (!connection || connection.address !== address || !connection.opening) {
      if (connection) connection.close();
      connection = new Connection(address);
    }
    return connection.open(timeoutMs || CONNECT_MS);
  }

  function text(answer) {
    return [answer && answer.code, answer && answer.message, answer && answer.details].filter(Boolean).join(": ");
  }

  function isPasswordError(answer) {
    return /password|парол|құпия/i.test(text(answer));
  }

  /* "-----BEGIN CMS-----\n…\n-----END CMS-----\n" (basics), or plain base64 -> base64 without spaces. */
  function bareBase64(value) {
    if (value && typeof value === "object" && !Array.isArray(value) && value.signatures) value = value.signatures;
    if (Array.isArray(value)) value = value[0];
    if (typeof value !== "string" || !value) return "";
    return value.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, "").replace(/\s+/g, "");
  }

  function eku(opts) {
    if (opts.extKeyUsageOids) return opts.extKeyUsageOids.slice();
    var oids = [opts.purpose === "auth" ? OID.auth : OID.sign];
    // a BIN means a legal entity's key: NCALayer then offers only its employees' keys
    if (opts.bin && opts.legalEntity !== false) oids.push(OID.legalEntity);
    return oids;
  }

  function basicsRequest(opts) {
    var digested = !!opts.digested;
    var signerParams = {extKeyUsageOids: eku(opts)};
    if (opts.iin) signerParams.iin = String(opts.iin);
    if (opts.bin) signerParams.bin = String(opts.bin);
    if (opts.chain) signerParams.chain = opts.chain;  // only for a non-NCA test PKI; production leaves it out
    return {
      module: BASICS, method: "sign",
      args: {
        allowedStorages: opts.allowedStorages || ALL_STORAGES,
        format: "cms",
        data: opts.dataB64,
        signingParams: {decode: true, encapsulate: !digested && !!opts.attached, digested: digested},
        signerParams: signerParams,
        locale: opts.locale === "kk" ? "kk" : "ru",
      },
    };
  }

  /* The basics answer -> base64 CMS; {legacy: true} when this NCALayer has no basics module. */
  function fromBasics(answer) {
    if (answer && answer.status === true) {
      if (!answer.body || !Object.prototype.hasOwnProperty.call(answer.body, "result")) throw error("cancelled");
      var cms = bareBase64(answer.body.result);
      if (!cms) throw error("failed", "empty result");
      return cms;
    }
    if (answer && answer.status === false) {
      if (isPasswordError(answer)) throw error("wrong_password", text(answer));
      if (/MODULE|NoSuchModule|not found/i.test(String(answer.code) + " " + String(answer.message))) return {legacy: true};
      throw error("failed", text(answer));
    }
    // no "status": the older NCALayer answering in its commonUtils shape to a module it does not know
    if (answer && answer.code && answer.code !== "200") return {legacy: true};
    throw error("failed", text(answer));
  }

  function fromCommon(answer) {
    if (answer && answer.code === "200") {
      var cms = bareBase64(answer.responseObject);
      if (!cms) throw error("failed", "empty responseObject");
      return cms;
    }
    if (answer && /action\.canceled|cancel/i.test(String(answer.message))) throw error("cancelled");
    if (isPasswordError(answer)) throw error("wrong_password", text(answer));
    throw error("failed", text(answer));
  }

  /* NCALayer before the basics module: pick the store, then the CAdES call. No BIN/IIN filter
   * here (these calls have none): the portal checks the BIN and the roles of what comes back. */
  function signLegacy(conn, opts) {
    var locale = opts.locale === "kk" ? "kk" : "ru";
    return conn.call({module: COMMON, method: "changeLocale", args: [locale]}).then(function () {
      return conn.call({module: COMMON, method: "getActiveTokens"});
    }).then(function (tokens) {
      var list = tokens && tokens.code === "200" && Array.isArray(tokens.responseObject) ? tokens.responseObject : [];
      var storage = list.length ? String(list[0]) : "PKCS12";
      var keyType = opts.purpose === "auth" ? "AUTHENTICATION" : "SIGNATURE";
      var request = opts.digested
        ? {module: COMMON, method: "createCAdESFromBase64Hash", args: [storage, keyType, opts.dataB64]}
        : {module: COMMON, method: "createCAdESFromBase64", args: [storage, keyType, opts.dataB64, !!opts.attached]};
      return conn.call(request);
    }).then(fromCommon);
  }

  function signCms(opts) {
    opts = opts || {};
    if (!opts.dataB64) return Promise.reject(error("failed", "nothing to sign"));
    return connect(CONNECT_MS).then(function (conn) {
      if (!versionAtLeast(conn.version, 1, 3) || opts.legacy) return signLegacy(conn, opts);
      return conn.call(basicsRequest(opts)).then(function (answer) {
        var out = fromBasics(answer);
        return typeof out === "string" ? out : signLegacy(conn, opts);
      });
    }, function (err) {
      throw err && err.code ? err : error("unavailable", err && err.message);
    });
  }

  function probe(timeoutMs) {
    return connect(timeoutMs || 1500).then(function () { return true; }, function () { return false; });
  }

  window.HomeportalSigners.ncalayer = {
    probe: probe,
    signCms: signCms,
    protocol: {BASICS: BASICS, COMMON: COMMON, OID: OID, url: url, basicsRequest: basicsRequest},
  };
})();
