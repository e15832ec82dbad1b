/* A new API key: a button that copies it. Without this script the key is still in a
 * read-only field to select and copy by hand; the button stays hidden. */
(function () {
  "use strict";
  var field = document.getElementById("new-key");
  var button = document.getElementById("new-key-copy");
  var said = document.getElementById("new-key-copied");
  if (!field || !button || !said) return;

  function say(text) { said.textContent = text; }
  function byHand() {
    // No Clipboard API (older browsers, plain HTTP): copy the selection instead.
    field.focus();
    field.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    say(copied ? button.dataset.copied : button.dataset.notCopied);
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    say("");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () {
        field.select();
        say(button.dataset.copied);
      }, byHand);
    } else {
      byHand();
    }
  });
})();
