// Keystage portal: the only script. It does two things the server cannot:
// WebAuthn (passkeys), and ticking password rules while the person types.
// Every page works without it; the server repeats the password verdict.
"use strict";

(function () {
  function b64uToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64u(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function post(url, body, json) {
    var opts = { method: "POST", credentials: "same-origin", headers: {} };
    if (json) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    } else {
      opts.headers["Content-Type"] = "application/x-www-form-urlencoded";
      opts.body = new URLSearchParams(body || {}).toString();
    }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(j.error || "The portal refused the request.");
        return j;
      });
    });
  }
  function say(msg) {
    var el = document.getElementById("passkey-status");
    if (el) el.textContent = msg;
  }

  function register(name, code) {
    return post("/passkeys/register/begin", { name: name, code: code }).then(function (opts) {
      var pk = opts.publicKey;
      pk.challenge = b64uToBuf(pk.challenge);
      pk.user.id = b64uToBuf(pk.user.id);
      (pk.excludeCredentials || []).forEach(function (c) { c.id = b64uToBuf(c.id); });
      return navigator.credentials.create({ publicKey: pk });
    }).then(function (cred) {
      return post("/passkeys/register/finish", {
        id: cred.id, rawId: bufToB64u(cred.rawId), type: cred.type,
        authenticatorAttachment: cred.authenticatorAttachment || undefined,
        clientExtensionResults: cred.getClientExtensionResults(),
        response: {
          attestationObject: bufToB64u(cred.response.attestationObject),
          clientDataJSON: bufToB64u(cred.response.clientDataJSON),
          transports: cred.response.getTransports ? cred.response.getTransports() : []
        }
      }, true);
    });
  }

  function signin() {
    return post("/signin/passkey/begin").then(function (opts) {
      var pk = opts.publicKey;
      pk.challenge = b64uToBuf(pk.challenge);
      (pk.allowCredentials || []).forEach(function (c) { c.id = b64uToBuf(c.id); });
      return navigator.credentials.get({ publicKey: pk });
    }).then(function (cred) {
      return post("/signin/passkey/finish", {
        id: cred.id, rawId: bufToB64u(cred.rawId), type: cred.type,
        authenticatorAttachment: cred.authenticatorAttachment || undefined,
        clientExtensionResults: cred.getClientExtensionResults(),
        response: {
          authenticatorData: bufToB64u(cred.response.authenticatorData),
          clientDataJSON: bufToB64u(cred.response.clientDataJSON),
          signature: bufToB64u(cred.response.signature),
          userHandle: cred.response.userHandle ? bufToB64u(cred.response.userHandle) : undefined
        }
      }, true);
    });
  }

  function failed(e) {
    if (e && e.name === "NotAllowedError") say("Cancelled, or the device did not answer. Try again.");
    else say(e && e.message ? e.message : "That did not work. Try again.");
  }

  // Password rules, mirroring the passwords package for the rules a browser
  // can judge. The server decides; this only helps while typing.
  function classes(s) {
    var up = false, lo = false, di = false, sp = false;
    for (var ch of s) {
      if (ch >= "0" && ch <= "9") di = true;
      else if (ch !== ch.toLowerCase() && ch === ch.toUpperCase()) up = true;
      else if (ch !== ch.toUpperCase() && ch === ch.toLowerCase()) lo = true;
      else if (!/[\p{L}\p{N}]/u.test(ch)) sp = true;
    }
    return up + lo + di + sp;
  }
  function repeats(s) {
    var prev = null;
    for (var ch of s) { if (ch === prev) return true; prev = ch; }
    return false;
  }
  function fragment(lower, source, n, split) {
    if (!source || n <= 0) return false;
    var parts = split ? source.split(/[^\p{L}\p{N}]+/u) : [source];
    for (var p of parts) {
      var rs = Array.from(p.toLowerCase());
      for (var i = 0; i + n <= rs.length; i++) if (lower.indexOf(rs.slice(i, i + n).join("")) >= 0) return true;
    }
    return false;
  }
  function checklist(input) {
    var items = document.querySelectorAll("#rules li[data-rule]");
    var live = document.getElementById("rules-live");
    var timer = null;
    input.addEventListener("input", function () {
      var pw = input.value, lower = pw.toLowerCase(), met = 0, total = 0;
      items.forEach(function (li) {
        var rule = li.dataset.rule, arg = parseInt(li.dataset.arg, 10) || 0, ok;
        if (!rule) return;
        switch (rule) {
          case "length": ok = Array.from(pw).length >= arg; break;
          case "classes": ok = classes(pw) >= arg; break;
          case "repeats": ok = pw.length > 0 && !repeats(pw); break;
          case "username": ok = pw.length > 0 && !fragment(lower, input.dataset.username, arg, false); break;
          case "name": ok = pw.length > 0 && !fragment(lower, input.dataset.given, arg, true) && !fragment(lower, input.dataset.family, arg, true); break;
          default: return;
        }
        total++;
        if (ok) met++;
        li.classList.toggle("met", ok);
        li.classList.toggle("unmet", !ok);
        var st = li.querySelector(".state");
        if (st) st.textContent = ok ? " (done)" : " (not yet)";
      });
      // One short summary after a pause, not an announcement per key.
      clearTimeout(timer);
      timer = setTimeout(function () { if (live) live.textContent = met + " of " + total + " rules met"; }, 900);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var pw = document.getElementById("new");
    if (pw && document.getElementById("rules")) checklist(pw);
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    if (!window.PublicKeyCredential) return;
    document.querySelectorAll("[data-webauthn]").forEach(function (el) { el.hidden = false; });
    document.querySelectorAll("[data-no-webauthn]").forEach(function (el) { el.hidden = true; });
    var add = document.getElementById("passkey-add");
    if (add) add.addEventListener("submit", function (ev) {
      ev.preventDefault();
      say("Follow your device's prompt…");
      var code = document.getElementById("passkey-code");
      register(document.getElementById("passkey-name").value, code ? code.value : "").then(function (r) {
        say("Passkey added.");
        window.location.assign(r.redirect);
      }, failed);
    });
    var btn = document.getElementById("passkey-signin");
    if (btn) btn.addEventListener("click", function () {
      say("Follow your device's prompt…");
      signin().then(function (r) { window.location.assign(r.redirect); }, failed);
    });
  });
})();
