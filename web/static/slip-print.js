// The print view of a slip: its "In phiếu" button prints the page (no inline script: the CSP forbids it).
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) {
    window.print();
  }
});
