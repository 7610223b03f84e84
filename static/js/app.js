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

// Progress pages: without JavaScript a <noscript data-refresh> meta refresh reloads them. With it, the
// page is fetched and its <main> swapped in place instead, so reading position and focus stay and no
// timed reload happens (WCAG 2.2.1); the region is announced politely. Polling stops when the new page
// no longer asks for a refresh.
document.addEventListener("DOMContentLoaded", () => {
  const refresh = document.querySelector("noscript[data-refresh]");
  const main = document.querySelector("main");
  if (!refresh || !main) return;
  const every = Number(refresh.dataset.refresh || 2) * 1000;
  main.setAttribute("aria-live", "polite");
  const poll = async () => {
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin" });
      const next = new DOMParser().parseFromString(await response.text(), "text/html");
      const nextMain = next.querySelector("main");
      if (!response.ok || !nextMain) return window.location.reload();
      main.replaceChildren(...Array.from(nextMain.childNodes, (node) => document.importNode(node, true)));
      if (next.querySelector("noscript[data-refresh]")) setTimeout(poll, every);
    } catch {
      setTimeout(poll, every);
    }
  };
  setTimeout(poll, every);
});
