// The pages' one script, small and optional: every page works without it. It shows the copy
// buttons (hidden until it runs, since without it they could not work) and makes the menus
// (native <details>) close on Escape, on a click elsewhere, and when another one opens.
export const SCRIPT = `
"use strict";
(function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = "value" in source ? source.value : source.textContent;
      navigator.clipboard.writeText(text).then(function () {
        // the name follows the text, so the two never disagree
        var label = button.textContent, name = button.getAttribute("aria-label");
        button.textContent = "Copied";
        if (name) button.setAttribute("aria-label", "Copied");
        setTimeout(function () {
          button.textContent = label;
          if (name) button.setAttribute("aria-label", name);
        }, 1500);
      });
    });
  });
  var menus = Array.prototype.slice.call(document.querySelectorAll("details.menu"));
  menus.forEach(function (menu) {
    menu.addEventListener("toggle", function () {
      if (!menu.open) return;
      menus.forEach(function (other) { if (other !== menu) other.open = false; });
    });
    menu.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || !menu.open) return;
      menu.open = false;
      menu.querySelector("summary").focus();
    });
  });
  document.addEventListener("click", function (event) {
    menus.forEach(function (menu) { if (menu.open && !menu.contains(event.target)) menu.open = false; });
  });
})();
`;
