// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("submit", function (event) {
  // Forms that do something destructive carry data-confirm="question?".
  const form = event.target;
  const question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
