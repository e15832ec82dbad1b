// The chat widget: asks POST /api/v1/ask and shows the answer in the conversation.
// Without this script the widget is a plain form that opens /ask/?q=... (server-rendered).
(function () {
  "use strict";
  var widget = document.querySelector(".ask-widget");
  if (!widget || !window.fetch) return;
  var form = widget.querySelector(".ask-form");
  var input = widget.querySelector("input[name=q]");
  var log = widget.querySelector(".ask-log");
  var t = function (key) { return widget.getAttribute("data-t-" + key) || ""; };
  var fill = function (text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) { return values[name] == null ? "" : values[name]; });
  };
  var NEAR = /近く|ちかく|最寄|もより|一番近|近所|周辺|付近|\bnear(est|by)?\b|\bclosest\b/i;
  var english = document.documentElement.lang === "en";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  // Text with its http(s) addresses as links; never HTML from the answer.
  function linked(text) {
    var fragment = document.createDocumentFragment();
    var parts = String(text).split(/(https?:\/\/[^\s、。）)]+)/);
    parts.forEach(function (part, i) {
      if (i % 2 === 1) {
        var a = el("a", null, part);
        a.href = part;
        fragment.appendChild(a);
      } else if (part) {
        fragment.appendChild(document.createTextNode(part));
      }
    });
    return fragment;
  }

  function message(who, className) {
    var box = el("div", "ask-msg " + className);
    box.appendChild(el("span", "who", who));
    log.appendChild(box);
    return box;
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function askAgain(question) {
    var button = el("button", "link", question);
    button.type = "button";
    button.addEventListener("click", function () { send(question); });
    return button;
  }

  function feedback(box, id) {
    var wrap = el("p", "ask-fb");
    wrap.appendChild(el("span", null, t("helpful") + " "));
    [["yes", true], ["no", false]].forEach(function (pair) {
      var button = el("button", pair[1] ? "" : "secondary", t(pair[0]));
      button.type = "button";
      button.addEventListener("click", function () {
        fetch(widget.getAttribute("data-feedback"), {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ id: id, helpful: pair[1] })
        }).then(function () {
          // The buttons go: the thanks takes the focus, which would otherwise fall to the
          // top of the page and out of the chat.
          wrap.textContent = t("thanks");
          wrap.setAttribute("tabindex", "-1");
          wrap.focus();
        });
      });
      wrap.appendChild(button);
    });
    box.appendChild(wrap);
  }

  function render(data) {
    var box = message(t("bot"), "bot");
    // Far away, the distance and the example question: as the server words them.
    if (data.far_away) {
      box.appendChild(el("p", null, fill(t("far"),
        { layer: data.place_layer, distance: data.places[0].distance_text })));
      var again = el("p", null, t("ask-again") + " ");
      again.appendChild(askAgain(data.place_example));
      box.appendChild(again);
    } else if (data.places && data.places.length) {
      var first = data.places[0];
      box.appendChild(el("p", null, fill(t(data.place_where ? "near" : "near-you"),
        { layer: first.layer, where: data.place_where || "" })));
      var list = el("ol");
      data.places.forEach(function (place) {
        var item = el("li");
        item.appendChild(el("strong", null, place.name));
        if (place.distance_text) item.appendChild(el("span", null, " " + place.distance_text));
        if (place.address) item.appendChild(el("span", null, " " + place.address));
        item.appendChild(document.createTextNode(" "));
        var a = el("a", null, t("map"));
        a.href = place.map_url;
        item.appendChild(a);
        list.appendChild(item);
      });
      box.appendChild(list);
    } else if (data.needs_location) {
      box.appendChild(el("p", null, fill(t("need-location"), { example: data.place_example })));
    }
    if (data.answer) {
      var answer = el("p");
      answer.appendChild(linked(data.answer.answer));
      box.appendChild(answer);
      if (data.answer.contact) box.appendChild(el("p", null, t("contact") + ": " + data.answer.contact));
      if (data.answer.url) {
        var source = el("p", null, t("source") + ": ");
        var link = el("a", null, data.answer.url);
        link.href = data.answer.url;
        source.appendChild(link);
        box.appendChild(source);
      }
    } else if (data.abstained) {
      box.appendChild(el("p", null, t("unknown")));
      if (data.contact) box.appendChild(el("p", null, fill(t("ask-dept"), data.contact)));
    }
    if (data.alternatives && data.alternatives.length) {
      box.appendChild(el("p", null, data.answer ? t("related") : t("did-you-mean")));
      var ul = el("ul", "ask-again");
      data.alternatives.forEach(function (alternative) {
        var li = el("li");
        li.appendChild(askAgain(alternative.question));
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
    if (!data.abstained && data.id) feedback(box, data.id);
    scroll();
  }

  function locate(then) {
    navigator.geolocation.getCurrentPosition(
      function (position) { then(position); },
      function () { then(null); },
      { timeout: 8000, maximumAge: 60000 }
    );
  }

  // `located`: the location was asked for already (given or refused).
  function post(question, position, located) {
    // The answer is in the page's language, whatever the question's letters ("AED").
    var body = { question: question, lang: english ? "en" : "ja" };
    if (position) { body.lat = position.coords.latitude; body.lon = position.coords.longitude; }
    var waiting = message(t("bot"), "bot");
    waiting.appendChild(el("span", null, t("thinking")));
    return fetch(widget.getAttribute("data-api"), {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Machi-Widget": "1" },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    }).then(function (data) {
      // "トイレはどこ", "AED": the server says the nearest places are wanted; ask for the
      // location then, rather than for every question with どこ in it.
      if (data.needs_location && !located && navigator.geolocation) {
        locate(function (found) {
          log.removeChild(waiting);
          if (found) post(question, found, true); else render(data);
        });
        return;
      }
      log.removeChild(waiting);
      render(data);
    }).catch(function () {
      waiting.lastChild.textContent = t("error");
    });
  }

  function send(question) {
    question = question.trim();
    if (!question) return;
    var mine = message(t("you"), "you");
    mine.appendChild(el("span", null, question));
    scroll();
    input.value = "";
    // The nearest places need the resident's location: asked only for such questions.
    if (NEAR.test(question) && navigator.geolocation) {
      locate(function (position) { post(question, position, true); });
    } else {
      post(question, null);
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(input.value);
    input.focus();
  });

  // The open panel covers the bottom of a phone's screen: Escape closes it, and so does
  // moving the focus out of it, so that it never hides what has the focus (WCAG 2.4.11).
  var panel = document.getElementById("ask-widget");
  if (panel) {
    var toggle = panel.querySelector("summary");
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && panel.open) {
        panel.open = false;
        toggle.focus();
      }
    });
    widget.addEventListener("focusout", function (event) {
      if (panel.open && event.relatedTarget && !widget.contains(event.relatedTarget)) {
        panel.open = false;
      }
    });
  }
})();
