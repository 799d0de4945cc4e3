// Progressive enhancement only: a submitted form's buttons are disabled so a double click
// does not send an action twice. Everything works without it.
document.addEventListener("submit", (event) => {
  for (const button of event.target.querySelectorAll("button[type=submit]")) {
    setTimeout(() => { button.disabled = true; }, 0);
  }
});
