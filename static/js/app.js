// Small enhancements only: every page works without this file.
document.addEventListener("click", (event) => {
  // Close other open <details> menus when one opens or the page is clicked elsewhere.
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});

// A "Copy" button after every read-only field marked data-copy (links to hand on).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-copy]").forEach((input) => {
    if (!navigator.clipboard) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button secondary small";
    button.textContent = "Copy";
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(input.value);
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = "Copy"), 2000);
    });
    input.after(button);
  });
  // Without the clipboard API the field is still there: selecting it selects the whole link.
  document.querySelectorAll("input[data-copy]").forEach((input) => input.addEventListener("focus", () => input.select()));
});
