// Inside Telegram (a Mini App), the client passes its signed initData in the address's
// fragment as tgWebAppData. We post it to the server, which checks Telegram's signature with
// the bot token and starts a session. Outside Telegram there is no such fragment: nothing runs.
"use strict";
(function () {
  var hash = window.location.hash.slice(1);
  if (!hash) { return; }
  var data = new URLSearchParams(hash).get("tgWebAppData");
  if (!data) { return; }
  document.getElementById("init-data").value = data;
  document.getElementById("webapp-form").submit();
})();
