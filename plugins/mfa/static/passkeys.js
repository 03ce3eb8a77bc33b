// Passkeys (WebAuthn): add one on the account page (#passkey-add), sign in with one on the
// sign-in page (#passkey-signin), as the second step (#passkey-verify) or at re-authentication
// (#passkey-reauth). The server sends and
// takes the JSON forms of the WebAuthn objects (binary values as base64url); this file turns
// them into what navigator.credentials wants and back. Without passkey support in the browser
// the buttons stay hidden and every page works as before.
"use strict";
(function () {
  if (window.__portalPasskeys) { return; }  // included once per section; wired once per page
  window.__portalPasskeys = true;

  const supported = Boolean(window.PublicKeyCredential && navigator.credentials && window.isSecureContext);

  function toBytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const text = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(text, function (ch) { return ch.charCodeAt(0); });
  }

  function toBase64url(buffer) {
    let text = "";
    new Uint8Array(buffer).forEach(function (byte) { text += String.fromCharCode(byte); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (item) { return Object.assign({}, item, { id: toBytes(item.id) }); });
  }

  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      user: Object.assign({}, json.user, { id: toBytes(json.user.id) }),
      excludeCredentials: withIds(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      allowCredentials: withIds(json.allowCredentials),
    });
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      return credential.toJSON();
    }
    const response = credential.response;
    const json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      if (response.userHandle) { json.response.userHandle = toBase64url(response.userHandle); }
    }
    return json;
  }

  function csrfToken() {
    const input = document.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await response.json(); } catch (ignored) { data = {}; }
    return { ok: response.ok, status: response.status, data: data };
  }

  function say(button, message) {
    const status = button.parentElement.querySelector(".passkey-status");
    if (status) {
      status.textContent = message;
      status.hidden = !message;
    }
  }

  function problem(error) {
    if (error && error.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out. Try again.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This device already holds a passkey for your account.";
    }
    return "Your browser could not use a passkey here: " + (error && error.message ? error.message : error);
  }

  async function addPasskey(button) {
    say(button, "");
    const start = await post(button.dataset.optionsUrl);
    if (start.status === 401 && start.data.reauth_url) {
      window.location.assign(start.data.reauth_url);  // confirm it is you, then add it
      return;
    }
    if (!start.ok) { say(button, start.data.error || "Could not start adding a passkey."); return; }
    let credential;
    try {
      credential = await navigator.credentials.create({ publicKey: creationOptions(start.data.publicKey) });
    } catch (error) { say(button, problem(error)); return; }
    const nameInput = document.getElementById("passkey-new-name");
    const body = { credential: credentialJSON(credential) };
    if (nameInput && nameInput.value.trim()) { body.name = nameInput.value.trim(); }
    const done = await post(button.dataset.verifyUrl, body);
    if (done.status === 401 && done.data.reauth_url) { window.location.assign(done.data.reauth_url); return; }
    if (!done.ok) { say(button, done.data.error || "The passkey was not added."); return; }
    window.location.assign(window.location.pathname + "#passkeys");
    window.location.reload();
  }

  async function signIn(button) {
    say(button, "");
    const start = await post(button.dataset.optionsUrl);
    if (!start.ok) { say(button, start.data.error || "Could not start signing in with a passkey."); return; }
    let credential;
    try {
      credential = await navigator.credentials.get({ publicKey: requestOptions(start.data.publicKey) });
    } catch (error) { say(button, problem(error)); return; }
    const body = { credential: credentialJSON(credential) };
    const next = new URLSearchParams(window.location.search).get("next");
    if (next) { body.next = next; }
    const done = await post(button.dataset.verifyUrl, body);
    if (!done.ok) { say(button, done.data.error || "The passkey was not accepted."); return; }
    window.location.assign(done.data.redirect || "/");
  }

  // Re-authentication: the ceremony's proof goes into the form's hidden code field; the form
  // is sent with the password (at once if it is typed in already).
  async function reauth(button) {
    say(button, "");
    const start = await post(button.dataset.optionsUrl);
    if (!start.ok) { say(button, start.data.error || "Could not start confirming with a passkey."); return; }
    let credential;
    try {
      credential = await navigator.credentials.get({ publicKey: requestOptions(start.data.publicKey) });
    } catch (error) { say(button, problem(error)); return; }
    const done = await post(button.dataset.verifyUrl, { credential: credentialJSON(credential) });
    if (!done.ok) { say(button, done.data.error || "The passkey was not accepted."); return; }
    const form = button.closest("form");
    form.querySelector('input[name="code"]').value = done.data.proof;
    const password = form.querySelector('input[name="password"]');
    if (password && password.value) { form.submit(); return; }
    say(button, "Passkey confirmed: enter your password and press Confirm.");
    if (password) { password.focus(); }
  }

  function wire(id, action) {
    const button = document.getElementById(id);
    if (!button) { return; }
    if (!supported) { return; }  // stays hidden; the page explains where passkeys work
    button.hidden = false;
    const unsupported = button.parentElement.querySelector(".passkey-unsupported");
    if (unsupported) { unsupported.hidden = true; }
    button.addEventListener("click", function () {
      button.disabled = true;
      action(button).catch(function (error) { say(button, problem(error)); }).finally(function () {
        button.disabled = false;
      });
    });
  }

  function start() {
    wire("passkey-add", addPasskey);
    wire("passkey-signin", signIn);
    wire("passkey-verify", signIn);
    wire("passkey-reauth", reauth);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
