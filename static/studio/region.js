// Vary (Region): mark a region over the upscaled image — a rectangle or a freehand
// shape — and send it as the provider wants it: a PNG at the image's own size, white
// where Midjourney may repaint, black elsewhere.
(function () {
  "use strict";
  var canvas = document.getElementById("region-canvas");
  var image = document.getElementById("region-image");
  var form = document.getElementById("region-form");
  if (!canvas || !image || !form) return;
  var width = Number(canvas.dataset.width), height = Number(canvas.dataset.height);
  var shapes = [];    // each {tool: "rect"|"lasso", points: [[x, y], ...]} in image pixels
  var drawing = null;
  var context = canvas.getContext("2d");
  var status = document.getElementById("region-status");

  function tool() { return document.querySelector("input[name=region-tool]:checked").value; }

  function fit() {
    var box = image.getBoundingClientRect();
    var ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(box.width * ratio);
    canvas.height = Math.round(box.height * ratio);
    canvas.style.width = box.width + "px";
    canvas.style.height = box.height + "px";
    draw();
  }

  function toImage(event) {
    var box = canvas.getBoundingClientRect();
    var x = (event.clientX - box.left) / box.width * width;
    var y = (event.clientY - box.top) / box.height * height;
    return [Math.max(0, Math.min(width, x)), Math.max(0, Math.min(height, y))];
  }

  function trace(target, shape, scaleX, scaleY) {
    var p = shape.points;
    target.beginPath();
    if (shape.tool === "rect") {
      var a = p[0], b = p[p.length - 1];
      target.rect(Math.min(a[0], b[0]) * scaleX, Math.min(a[1], b[1]) * scaleY,
                  Math.abs(b[0] - a[0]) * scaleX, Math.abs(b[1] - a[1]) * scaleY);
    } else {
      target.moveTo(p[0][0] * scaleX, p[0][1] * scaleY);
      for (var i = 1; i < p.length; i++) target.lineTo(p[i][0] * scaleX, p[i][1] * scaleY);
      target.closePath();
    }
  }

  function draw() {
    var sx = canvas.width / width, sy = canvas.height / height;
    context.clearRect(0, 0, canvas.width, canvas.height);
    var all = drawing ? shapes.concat([drawing]) : shapes;
    all.forEach(function (shape) {
      trace(context, shape, sx, sy);
      context.fillStyle = "rgba(124, 108, 242, 0.35)";
      context.fill();
      context.lineWidth = 2 * (window.devicePixelRatio || 1);
      context.setLineDash([8, 6]);
      context.strokeStyle = "#fff";
      context.stroke();
    });
    status.textContent = shapes.length ? shapes.length + " area" + (shapes.length > 1 ? "s" : "") + " marked." : "Nothing marked yet.";
  }

  canvas.addEventListener("pointerdown", function (event) {
    canvas.setPointerCapture(event.pointerId);
    // Drawing answers what a refusal asked for ("draw the region first"): it goes.
    var notice = document.getElementById("notice");
    if (notice) notice.replaceChildren();
    drawing = { tool: tool(), points: [toImage(event)] };
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) return;
    var point = toImage(event);
    if (drawing.tool === "rect") drawing.points[1] = point; else drawing.points.push(point);
    draw();
  });
  function finish() {
    if (!drawing) return;
    var p = drawing.points;
    var big = drawing.tool === "rect" ? p.length > 1 && Math.abs(p[1][0] - p[0][0]) > 4 && Math.abs(p[1][1] - p[0][1]) > 4 : p.length > 3;
    if (big) shapes.push(drawing);
    drawing = null;
    draw();
  }
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  document.getElementById("region-undo").addEventListener("click", function () { shapes.pop(); draw(); });
  document.getElementById("region-clear").addEventListener("click", function () { shapes = []; draw(); });

  function maskDataUrl() {
    var mask = document.createElement("canvas");
    mask.width = width; mask.height = height;
    var m = mask.getContext("2d");
    m.fillStyle = "#000"; m.fillRect(0, 0, width, height);
    m.fillStyle = "#fff";
    shapes.forEach(function (shape) { trace(m, shape, 1, 1); m.fill(); });
    return mask.toDataURL("image/png");
  }

  // The mask is made at the moment of sending; the server checks it (size, not empty).
  form.addEventListener("htmx:configRequest", function (event) {
    event.detail.parameters.mask = shapes.length ? maskDataUrl() : "";
  });

  if (image.complete) fit(); else image.addEventListener("load", fit);
  window.addEventListener("resize", fit);
})();
