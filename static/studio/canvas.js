// Edit on a canvas: the image placed on a larger canvas (a preset shape, or the image
// with room around it), moved and resized, and the parts to repaint painted over. What
// is sent is what the provider takes (LegNext's edit / upload-paint): the canvas's size,
// where the image sits on it (`placed`, canvas pixels) and a mask PNG at the canvas's
// true pixel size, white where to repaint (what was painted, and all of the canvas the
// image does not cover, which must be filled), black over the rest of the image.
(function () {
  "use strict";
  var stage = document.getElementById("canvas-stage");
  var picture = document.getElementById("canvas-image");
  var form = document.getElementById("canvas-form");
  if (!stage || !picture || !form) return;

  // The provider's canvas runs from 500 to 4096 px a side; a canvas is made at least
  // 1024 px on its long side where it fits, so a small image is not repainted small.
  var MIN_SIDE = 500, MAX_SIDE = 4096, LONG_SIDE = 1024;
  var imageWidth = Number(stage.dataset.width), imageHeight = Number(stage.dataset.height);
  var canvas = { width: 0, height: 0 };
  var place = { x: 0, y: 0, scale: 1 };  // the image's top-left (canvas px) and canvas px per image px
  var strokes = [];  // {erase, size, points: [[x, y], …]}: in the image's own pixels, so they move with it
  var stroke = null, drag = null, hover = null;
  var view = stage.getContext("2d");
  var layer = document.createElement("canvas");
  var scaleInput = document.getElementById("canvas-scale");
  var brushInput = document.getElementById("canvas-brush");

  function byId(id) { return document.getElementById(id); }
  function chosen(name) {
    var input = document.querySelector("input[name=" + name + "]:checked");
    return input ? input.value : "";
  }
  function clamp(value, low, high) { return Math.max(low, Math.min(high, value)); }

  // --- the canvas and the image on it ---------------------------------------------------
  function canvasFor(shape) {
    var width, height;
    if (shape === "margin") {
      width = imageWidth * 1.5;
      height = imageHeight * 1.5;
    } else {
      var parts = shape.split(":"), ratio = Number(parts[0]) / Number(parts[1]);
      // The smallest canvas of that shape around the image, with room to paint into.
      if (imageWidth / imageHeight > ratio) { width = imageWidth; height = imageWidth / ratio; }
      else { height = imageHeight; width = imageHeight * ratio; }
      width *= 1.25;
      height *= 1.25;
    }
    var long = Math.max(width, height), short = Math.min(width, height);
    var factor = Math.max(1, LONG_SIDE / long, MIN_SIDE / short);
    factor = Math.min(factor, MAX_SIDE / long);
    return {
      width: clamp(Math.round(width * factor), MIN_SIDE, MAX_SIDE),
      height: clamp(Math.round(height * factor), MIN_SIDE, MAX_SIDE)
    };
  }

  function fitScale() { return Math.min(canvas.width / imageWidth, canvas.height / imageHeight); }

  // Where the image sits, in whole canvas pixels, always wholly on the canvas.
  function placed() {
    var width = clamp(Math.round(imageWidth * place.scale), 1, canvas.width);
    var height = clamp(Math.round(imageHeight * place.scale), 1, canvas.height);
    return {
      x: clamp(Math.round(place.x), 0, canvas.width - width),
      y: clamp(Math.round(place.y), 0, canvas.height - height),
      width: width,
      height: height
    };
  }

  function resize(percent, keepCentre) {
    var before = placed();
    var centre = keepCentre ? [before.x + before.width / 2, before.y + before.height / 2] : [canvas.width / 2, canvas.height / 2];
    place.scale = fitScale() * percent / 100;
    place.x = centre[0] - imageWidth * place.scale / 2;
    place.y = centre[1] - imageHeight * place.scale / 2;
    var now = placed();
    place.x = now.x;
    place.y = now.y;
  }

  function reshape() {
    var shape = chosen("canvas-shape");
    canvas = canvasFor(shape);
    var percent = shape === "margin" ? Math.round(100 / 1.5) : 80;
    scaleInput.value = percent;
    resize(percent, false);
    fit();
  }

  // --- what is shown: the canvas at the page's size ---------------------------------------
  function fit() {
    var wrap = byId("canvas-stage-wrap");
    var room = wrap.clientWidth;
    var tall = Math.max(260, window.innerHeight * 0.62);
    var shown = Math.min(room / canvas.width, tall / canvas.height);
    var ratio = window.devicePixelRatio || 1;
    stage.style.width = Math.floor(canvas.width * shown) + "px";
    stage.style.height = Math.floor(canvas.height * shown) + "px";
    stage.width = Math.max(1, Math.round(canvas.width * shown * ratio));
    stage.height = Math.max(1, Math.round(canvas.height * shown * ratio));
    layer.width = stage.width;
    layer.height = stage.height;
    draw();
  }

  // Paint the repaint areas onto `target` at `k` target px per canvas px: `repaint` over
  // the whole canvas, the image's area kept, then the strokes in order (erasing keeps).
  // For the mask the colours are white and black; for the view, a tint and transparency.
  function paintAreas(target, k, forView) {
    var at = placed();
    var repaint = forView ? "#7c6cf2" : "#fff";
    target.save();
    target.globalCompositeOperation = "source-over";
    target.fillStyle = repaint;
    target.fillRect(0, 0, canvas.width * k, canvas.height * k);
    if (forView) {
      target.clearRect(at.x * k, at.y * k, at.width * k, at.height * k);
    } else {
      target.fillStyle = "#000";
      target.fillRect(at.x * k, at.y * k, at.width * k, at.height * k);
    }
    target.beginPath();
    target.rect(at.x * k, at.y * k, at.width * k, at.height * k);
    target.clip();
    target.lineCap = "round";
    target.lineJoin = "round";
    strokes.forEach(function (each) {
      if (forView) target.globalCompositeOperation = each.erase ? "destination-out" : "source-over";
      var colour = each.erase && !forView ? "#000" : repaint;
      target.strokeStyle = colour;
      target.fillStyle = colour;
      target.lineWidth = each.size * place.scale * k;
      var points = each.points.map(function (point) {
        return [(at.x + point[0] * place.scale) * k, (at.y + point[1] * place.scale) * k];
      });
      target.beginPath();
      if (points.length === 1) {
        target.arc(points[0][0], points[0][1], target.lineWidth / 2, 0, Math.PI * 2);
        target.fill();
        return;
      }
      target.moveTo(points[0][0], points[0][1]);
      for (var i = 1; i < points.length; i++) target.lineTo(points[i][0], points[i][1]);
      target.stroke();
    });
    target.restore();
  }

  // The empty canvas as a checkerboard in the theme's own greys (the frame's colours,
  // resolved: a canvas cannot read light-dark()).
  var checker = null;
  function checkerboard() {
    if (checker) return checker;
    var frame = getComputedStyle(byId("canvas-stage-wrap"));
    var tile = document.createElement("canvas");
    tile.width = tile.height = 16;
    var t = tile.getContext("2d");
    t.fillStyle = frame.backgroundColor;
    t.fillRect(0, 0, 16, 16);
    t.fillStyle = frame.borderTopColor;
    t.fillRect(0, 0, 8, 8);
    t.fillRect(8, 8, 8, 8);
    checker = view.createPattern(tile, "repeat");
    return checker;
  }

  function draw() {
    if (!canvas.width) return;
    var k = stage.width / canvas.width;
    var at = placed();
    view.setTransform(1, 0, 0, 1, 0, 0);
    view.clearRect(0, 0, stage.width, stage.height);
    view.fillStyle = checkerboard();
    view.fillRect(0, 0, stage.width, stage.height);
    if (picture.complete && picture.naturalWidth) view.drawImage(picture, at.x * k, at.y * k, at.width * k, at.height * k);
    var layerContext = layer.getContext("2d");
    layerContext.clearRect(0, 0, layer.width, layer.height);
    paintAreas(layerContext, k, true);
    view.globalAlpha = 0.45;
    view.drawImage(layer, 0, 0);
    view.globalAlpha = 1;
    // The image's edge, and the brush under the pointer.
    var ratio = window.devicePixelRatio || 1;
    view.lineWidth = 1.5 * ratio;
    view.setLineDash([6 * ratio, 4 * ratio]);
    view.strokeStyle = "#fff";
    view.strokeRect(at.x * k + 0.5, at.y * k + 0.5, at.width * k - 1, at.height * k - 1);
    view.setLineDash([]);
    if (hover && chosen("canvas-tool") !== "move") {
      view.beginPath();
      view.arc(hover[0] * k, hover[1] * k, brushSize() / 2 * k, 0, Math.PI * 2);
      view.strokeStyle = "#fff";
      view.stroke();
    }
    sync();
  }

  // --- what the form sends, and what the page says ---------------------------------------
  function brushSize() { return Math.round(Math.min(canvas.width, canvas.height) * Number(brushInput.value) / 100); }

  function sync() {
    var at = placed();
    byId("canvas-field").value = JSON.stringify({ width: canvas.width, height: canvas.height });
    byId("placed-field").value = JSON.stringify({ x: at.x, y: at.y, width: at.width, height: at.height });
    byId("canvas-size").textContent = canvas.width + " × " + canvas.height;
    byId("canvas-placed").textContent = at.width + " × " + at.height + " px at " + at.x + ", " + at.y;
    byId("canvas-scale-out").textContent = scaleInput.value + "%";
    byId("canvas-brush-out").textContent = brushSize() + " px";
    var painted = strokes.filter(function (each) { return !each.erase; }).length;
    byId("canvas-status").textContent = painted
      ? painted + " stroke" + (painted > 1 ? "s" : "") + " painted, and the canvas around the image."
      : "Nothing painted yet: only the canvas around the image will be filled.";
  }

  function maskDataUrl() {
    var mask = document.createElement("canvas");
    mask.width = canvas.width;
    mask.height = canvas.height;
    paintAreas(mask.getContext("2d"), 1, false);
    return mask.toDataURL("image/png");
  }

  // The mask is made at the moment of sending; the server checks it (its size, some white).
  form.addEventListener("htmx:configRequest", function (event) {
    event.detail.parameters.mask = maskDataUrl();
  });

  // --- pointer: paint, erase, move (mouse, pen and touch alike) ----------------------------
  function toCanvas(event) {
    var box = stage.getBoundingClientRect();
    return [(event.clientX - box.left) / box.width * canvas.width, (event.clientY - box.top) / box.height * canvas.height];
  }
  function toImage(point) {
    var at = placed();
    return [(point[0] - at.x) / place.scale, (point[1] - at.y) / place.scale];
  }

  stage.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) return;
    stage.setPointerCapture(event.pointerId);
    stage.focus({ preventScroll: true });
    var notice = byId("work-refusal");
    if (notice) notice.replaceChildren();  // painting answers what a refusal asked for
    var point = toCanvas(event);
    var tool = chosen("canvas-tool");
    if (tool === "move") {
      drag = { from: point, x: placed().x, y: placed().y };
    } else {
      stroke = { erase: tool === "erase", size: brushSize() / place.scale, points: [toImage(point)] };
      strokes.push(stroke);
    }
    hover = point;
    draw();
  });
  stage.addEventListener("pointermove", function (event) {
    var point = toCanvas(event);
    hover = event.pointerType === "touch" && !stroke ? null : point;
    if (drag) {
      place.x = drag.x + point[0] - drag.from[0];
      place.y = drag.y + point[1] - drag.from[1];
      var at = placed();
      place.x = at.x;
      place.y = at.y;
    } else if (stroke) {
      stroke.points.push(toImage(point));
    }
    draw();
  });
  function finish() {
    stroke = null;
    drag = null;
    draw();
  }
  stage.addEventListener("pointerup", finish);
  stage.addEventListener("pointercancel", finish);
  stage.addEventListener("pointerleave", function () { hover = null; draw(); });

  // --- keyboard: move and resize the image on the focused canvas ---------------------------
  stage.addEventListener("keydown", function (event) {
    var step = (event.shiftKey ? 0.1 : 0.01) * Math.min(canvas.width, canvas.height);
    var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[event.key]) {
      event.preventDefault();
      place.x = placed().x + moves[event.key][0];
      place.y = placed().y + moves[event.key][1];
      var at = placed();
      place.x = at.x;
      place.y = at.y;
      draw();
    } else if (event.key === "+" || event.key === "=" || event.key === "-" || event.key === "−") {
      event.preventDefault();
      var grow = event.key === "+" || event.key === "=";
      scaleInput.value = clamp(Number(scaleInput.value) + (grow ? 5 : -5), Number(scaleInput.min), Number(scaleInput.max));
      resize(Number(scaleInput.value), true);
      draw();
    }
  });

  // --- the controls ---------------------------------------------------------------------
  document.addEventListener("change", function (event) {
    if (event.target.name === "canvas-shape") reshape();
    if (event.target.name === "canvas-tool") {
      stage.classList.toggle("moving", event.target.value === "move");
      draw();
    }
  });
  scaleInput.addEventListener("input", function () { resize(Number(scaleInput.value), true); draw(); });
  brushInput.addEventListener("input", draw);
  byId("canvas-undo").addEventListener("click", function () { strokes.pop(); draw(); });
  byId("canvas-clear").addEventListener("click", function () { strokes = []; draw(); });
  window.addEventListener("resize", fit);

  function start() {
    reshape();
  }
  if (picture.complete && picture.naturalWidth) start();
  else {
    picture.addEventListener("load", start);
    reshape();  // the canvas shows (and the form can be read) while the image loads
  }
})();
