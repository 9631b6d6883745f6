// Bundle-size baseline for the JS side: the same page without the client.
document.body.textContent = "ready";
