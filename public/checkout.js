// Checkout enhancement: submit payment forms without a full page load.
// Without this file everything works the same through plain form posts; the
// server answers both with the same redirect, followed here by fetch.
"use strict";
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-enhance") || !window.fetch) return;
  event.preventDefault();
  if (form.dataset.busy) return; // a double click sends one request
  form.dataset.busy = "1";
  const button = form.querySelector("button[type=submit]");
  if (button) {
    button.disabled = true;
    if (button.dataset.busyLabel) button.textContent = button.dataset.busyLabel;
  }
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { Accept: "text/html" },
      credentials: "same-origin",
    });
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    if (!response.url || !doc.body || !doc.querySelector("main")) throw new Error("unexpected answer");
    document.title = doc.title;
    document.body.replaceWith(document.adoptNode(doc.body));
    history.pushState(null, "", response.url);
    const heading = document.querySelector("[role=alert], h1");
    if (heading) {
      if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
    if (doc.querySelector("meta[http-equiv=refresh]")) setTimeout(() => location.reload(), 2000);
  } catch (_) {
    // The same token makes a resubmit safe: the server returns the first outcome.
    form.submit();
  }
});
window.addEventListener("popstate", () => location.reload());
