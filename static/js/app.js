// Small enhancements only: every page works without this file.
document.addEventListener("click", (event) => {
  // Close other open <details> menus when one opens or the page is clicked elsewhere.
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});
