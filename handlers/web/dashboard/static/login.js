// Sign in as soon as the page opens. A link preview fetches the page but runs no script, so it
// never uses the one-time link up; a browser without scripts has the button.
"use strict";
document.getElementById("login-form").submit();
