(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("marketplace-config").textContent);
  // The signed token arrives once, in the address of the first load. It is
  // kept in memory only and sent in the Authorization header; the address
  // loses it, so a copied link or the history never carries it.
  var token = new URLSearchParams(window.location.search).get("tenant") || "";
  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname);
  }

  var main = document.getElementById("marketplace");
  var statusLine = document.getElementById("marketplace-status");
  var errorBox = document.getElementById("marketplace-error");
  var lists = {
    installed: document.getElementById("installed-list"),
    available: document.getElementById("available-list")
  };
  var empties = {
    installed: document.getElementById("installed-empty"),
    available: document.getElementById("available-empty")
  };
  var catalog = { integrations: [] };

  var messages = {
    install_limit_reached: "You have installed as many integrations as you may. Uninstall one to install another.",
    already_installed: "This integration is already installed.",
    integration_not_found: "This integration is no longer available to you.",
    tenant_not_found: "This installation no longer exists. The list has been refreshed.",
    changed_concurrently: "Something changed at the same time. Please try again.",
    invalid_config: "The settings of this integration are not valid."
  };

  // tell informs the embedding page, and only when it is the organization's
  // marketplace origin: the browser drops a message for any other origin.
  function tell(message) {
    if (window.parent === window || !config.parentOrigin) {
      return;
    }
    window.parent.postMessage(message, config.parentOrigin);
  }

  var lastHeight = 0;
  function reportHeight() {
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height !== lastHeight) {
      lastHeight = height;
      tell({ type: "integration-hub:height", height: height });
    }
  }

  function say(text) {
    statusLine.textContent = text;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.textContent = "";
    errorBox.hidden = true;
  }

  function call(method, path, body) {
    var init = { method: method, headers: { Authorization: "Bearer " + token }, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(config.api + path, init).then(function (response) {
      if (response.status === 204) {
        return null;
      }
      return response.json().catch(function () { return null; }).then(function (data) {
        if (response.ok) {
          return data;
        }
        var code = data && data.code;
        if ((response.status === 401 || response.status === 403) && !code) {
          throw new Error("Your session has ended. Reload the page to continue.");
        }
        throw new Error(messages[code] || (data && data.detail) || "Something went wrong (error " + response.status + "). Please try again.");
      });
    }, function () {
      throw new Error("The marketplace could not be reached. Check your connection and try again.");
    });
  }

  function logo(item) {
    var initial = document.createElement("span");
    initial.className = "logo initial";
    initial.setAttribute("aria-hidden", "true");
    initial.textContent = (item.name || "?").charAt(0).toUpperCase();
    if (!item.logo_url) {
      return initial;
    }
    var img = document.createElement("img");
    img.className = "logo";
    img.alt = "";
    img.src = item.logo_url;
    img.addEventListener("error", function () { img.replaceWith(initial); });
    return img;
  }

  function card(item) {
    var installed = item.status === "installed";
    var li = document.createElement("li");
    li.className = "card";
    li.dataset.integrationId = item.id;
    li.appendChild(logo(item));
    var body = document.createElement("div");
    body.className = "body";
    var name = document.createElement("h3");
    name.className = "name";
    name.id = "integration-" + item.id;
    name.textContent = item.name;
    body.appendChild(name);
    if (item.description) {
      var description = document.createElement("p");
      description.className = "description";
      description.textContent = item.description;
      body.appendChild(description);
    }
    var button = document.createElement("button");
    button.type = "button";
    button.className = installed ? "uninstall" : "install";
    button.textContent = installed ? "Uninstall" : "Install";
    button.setAttribute("aria-label", (installed ? "Uninstall " : "Install ") + item.name);
    button.addEventListener("click", function () {
      (installed ? uninstall : install)(item, li, button);
    });
    body.appendChild(button);
    li.appendChild(body);
    return li;
  }

  function render() {
    ["installed", "available"].forEach(function (state) {
      var items = catalog.integrations.filter(function (item) { return item.status === state; });
      lists[state].replaceChildren.apply(lists[state], items.map(card));
      empties[state].hidden = items.length > 0;
    });
    reportHeight();
  }

  function focusButtonOf(id) {
    var li = document.querySelector('li[data-integration-id="' + CSS.escape(id) + '"]');
    var button = li && li.querySelector("button");
    if (button) {
      button.focus();
    }
  }

  function busy(li, button, on) {
    li.setAttribute("aria-busy", on ? "true" : "false");
    button.disabled = on;
  }

  function install(item, li, button) {
    clearError();
    busy(li, button, true);
    say("Installing " + item.name + "…");
    call("POST", "/tenants", { integration_id: item.id }).then(function (installed) {
      item.status = "installed";
      item.tenant = installed.tenant;
      render();
      say(item.name + " is installed.");
      focusButtonOf(item.id);
      tell({ type: "integration-hub:installed", integrationId: item.id, tenantId: installed.tenant.id });
    }, function (err) {
      busy(li, button, false);
      say("");
      showError(err.message);
      button.focus();
    });
  }

  function uninstall(item, li, button) {
    clearError();
    busy(li, button, true);
    say("Uninstalling " + item.name + "…");
    var tenantId = item.tenant.id;
    call("DELETE", "/tenants/" + encodeURIComponent(tenantId)).then(function () {
      item.status = "available";
      item.tenant = null;
      render();
      say(item.name + " is uninstalled.");
      focusButtonOf(item.id);
      tell({ type: "integration-hub:uninstalled", integrationId: item.id, tenantId: tenantId });
    }, function (err) {
      busy(li, button, false);
      say("");
      showError(err.message);
      button.focus();
    });
  }

  function load() {
    if (!token) {
      main.setAttribute("aria-busy", "false");
      say("");
      showError("This page opens from the application that embeds it, with a signed link.");
      reportHeight();
      return;
    }
    call("GET", "/integrations").then(function (data) {
      catalog = data;
      main.setAttribute("aria-busy", "false");
      render();
      var installed = catalog.integrations.filter(function (item) { return item.status === "installed"; }).length;
      say(catalog.integrations.length + " integrations, " + installed + " installed.");
    }, function (err) {
      main.setAttribute("aria-busy", "false");
      say("");
      showError(err.message);
      reportHeight();
    });
  }

  if (window.ResizeObserver) {
    new ResizeObserver(reportHeight).observe(document.body);
  }
  load();
}());
