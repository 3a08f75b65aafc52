// Web chat client: posts each message to /webchat/message and renders the JSON Reply.
// Every string from the server is inserted as text (textContent), never as HTML.
"use strict";

(function () {
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const sendButton = form.querySelector(".send");
  const status = document.getElementById("chat-status");
  let busy = false;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function hidden(text) {
    return el("span", "visually-hidden", text);
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function disableOldChips() {
    log.querySelectorAll(".chips .chip").forEach(function (chip) {
      chip.disabled = true;
    });
  }

  function addUser(text) {
    const row = el("div", "row user");
    const stack = el("div", "stack");
    const bubble = el("p", "bubble");
    bubble.append(hidden("나: "), document.createTextNode(text));
    stack.append(bubble);
    row.append(stack);
    log.append(row);
    scrollToEnd();
  }

  function addSystem(text) {
    const row = el("div", "row system");
    const bubble = el("p", "bubble");
    bubble.append(hidden("알림: "), document.createTextNode(text));
    row.append(bubble);
    log.append(row);
    scrollToEnd();
  }

  function cardButton(button) {
    if (button.action === "link") {
      const link = el("a", "", button.label);
      link.href = button.href;
      if (button.href.indexOf("http") === 0) {
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.append(hidden(" (새 창)"));
      } else if (button.value) {
        link.setAttribute("aria-label", button.label + " " + button.value);
      }
      return link;
    }
    const node = el("button", "", button.label);
    node.type = "button";
    node.addEventListener("click", function () {
      send(button.message, null);
    });
    return node;
  }

  function renderCards(cards) {
    const carousel = el("div", cards.length > 1 ? "carousel" : "carousel single");
    carousel.setAttribute("role", "region");
    carousel.setAttribute("aria-label", cards.length > 1 ? "카드 " + cards.length + "개, 옆으로 넘겨 보세요" : "카드");
    if (cards.length > 1) carousel.tabIndex = 0;
    cards.forEach(function (card) {
      const article = el("article", "card");
      const body = el("div", "card-body");
      body.append(el("h3", "", card.title));
      if (card.description) body.append(el("p", "", card.description));
      article.append(body);
      if (card.buttons && card.buttons.length) {
        const buttons = el("div", "card-buttons");
        card.buttons.forEach(function (b) {
          buttons.append(cardButton(b));
        });
        article.append(buttons);
      }
      carousel.append(article);
    });
    return carousel;
  }

  function renderChips(quickReplies) {
    const group = el("div", "chips");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "빠른 답장");
    quickReplies.forEach(function (q) {
      const chip = el("button", "chip", q.label);
      chip.type = "button";
      chip.addEventListener("click", function () {
        send(q.message, q.extra);
      });
      group.append(chip);
    });
    return group;
  }

  function addBot(reply) {
    const row = el("div", "row bot");
    const avatar = el("div", "avatar small", "G");
    avatar.setAttribute("aria-hidden", "true");
    const stack = el("div", "stack");
    stack.append(el("span", "sender", "챗봇"));
    (reply.texts || []).forEach(function (text) {
      const bubble = el("p", "bubble");
      bubble.append(hidden("챗봇: "), document.createTextNode(text));
      stack.append(bubble);
    });
    if (reply.cards && reply.cards.length) stack.append(renderCards(reply.cards));
    if (reply.quick_replies && reply.quick_replies.length) stack.append(renderChips(reply.quick_replies));
    row.append(avatar, stack);
    log.append(row);
    // A reply taller than the window is read from its first line, not from its end.
    if (row.offsetHeight > log.clientHeight) {
      log.scrollTop = row.offsetTop - 8;
    } else {
      scrollToEnd();
    }
  }

  function setBusy(value) {
    busy = value;
    sendButton.disabled = value;
    log.setAttribute("aria-busy", value ? "true" : "false");
    status.textContent = value ? "답변을 준비하고 있어요…" : "";
  }

  async function send(text, extra) {
    text = (text || "").trim();
    if (!text || busy) return;
    disableOldChips();
    addUser(text);
    setBusy(true);
    try {
      const response = await fetch("/webchat/message", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        credentials: "same-origin",
        body: JSON.stringify(extra ? { text: text, extra: extra } : { text: text }),
      });
      const data = await response.json().catch(function () {
        return null;
      });
      if (!response.ok || !data) {
        addSystem((data && data.error) || "답변을 받지 못했어요. 잠시 후 다시 시도해 주세요.");
      } else {
        addBot(data);
      }
    } catch (err) {
      addSystem("연결이 끊겼어요. 인터넷 연결을 확인하고 다시 시도해 주세요.");
    } finally {
      setBusy(false);
      // Keyboard users keep typing where they were; chips they used are gone from the tab order.
      input.focus();
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value;
    input.value = "";
    send(text, null);
  });

  document.querySelectorAll("[data-message]").forEach(function (button) {
    button.addEventListener("click", function () {
      send(button.getAttribute("data-message"), null);
    });
  });
})();
