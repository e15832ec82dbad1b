// The run and versions pages: follows a conversion or load in progress and reloads the page
// when it is done; opens a folded form that a link or an error points at; focuses outcomes.
(function () {
  "use strict";

  // A link to a folded form (別のシートを選ぶ → #layout-form) unfolds it.
  function openTarget() {
    var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target && target.tagName === "DETAILS") target.open = true;
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();

  // A refused form: its summary takes the focus, so that it is read first. Else the
  // outcome of what was just done (rolled back, saved): a message already on the page
  // when it loads is not announced, and the focus was at the top of the page.
  var summary = document.getElementById("error-summary");
  var outcome = document.getElementById("outcome");
  if (summary) summary.focus();
  else if (outcome) outcome.focus();

  var box = document.querySelector("[data-progress-url]");
  if (!box) return;
  var bar = document.getElementById("run-progress");
  var stage = document.getElementById("run-stage");
  var status = document.getElementById("run-status");
  function poll() {
    fetch(box.getAttribute("data-progress-url"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        bar.value = data.progress;
        bar.textContent = Math.round(data.progress * 100) + "%";
        if (data.stage) stage.textContent = data.stage;
        status.textContent = data.status_display;
        if (data.busy) { setTimeout(poll, 700); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 500);
})();
