/* RiverGrid grid boundary editor: a Leaflet map inside a Streamlit custom component.
 *
 * Streamlit's component protocol (no build step): we post "streamlit:componentReady", receive
 * "streamlit:render" messages with the arguments, and post "streamlit:setComponentValue" with
 * the drawing as GeoJSON. streamlit-folium cannot return edits of shapes loaded onto its map;
 * here the edited shape is our own layer, so its vertices come back exactly.
 *
 * Arguments (see ui/components/grid_draw/__init__.py):
 *   grids     FeatureCollection; properties: id, style (Leaflet path options), tooltip_html
 *             (already HTML-escaped on the Python side: user text never becomes markup here)
 *   overlays  [{name, data: FeatureCollection, style}] drawn above the grids (not editable)
 *   mode      "view" | "draw" (new polygon) | "edit" (vertices of target) | "split" (a line)
 *   target_id grid id to edit or split
 *   draft     GeoJSON geometry of the user's drawing to show (kept across reruns/conflicts)
 *   bounds    [[south, west], [north, east]] to fit when the view key changes
 *   view_key  changes when the page wants the map re-fitted to bounds
 *   token     changes when the page wants the drawing restarted (after a save)
 *   height    map height in pixels
 */
(function () {
  "use strict";

  var SEND = function (type, data) {
    var msg = {isStreamlitMessage: true, type: type};
    for (var k in data) { if (Object.prototype.hasOwnProperty.call(data, k)) { msg[k] = data[k]; } }
    window.parent.postMessage(msg, "*");
  };

  L.drawLocal.draw.handlers.polygon.tooltip = {
    start: "单击地图开始绘制网格边界", cont: "继续单击添加顶点", end: "单击第一个顶点（或“完成”）闭合边界"
  };
  L.drawLocal.draw.handlers.polyline.tooltip = {
    start: "单击网格外一点开始画分割线", cont: "继续单击添加折点", end: "单击最后一点（或“完成”）结束分割线"
  };
  L.drawLocal.edit.handlers.edit.tooltip = {text: "拖动顶点修改边界", subtext: "拖动边中点可增加顶点"};

  // ---------------------------------------------------------------------------------------------
  // Vertex handles on long boundaries. Leaflet.Draw gives every vertex a handle (and every edge a
  // middle handle): a boundary that follows a river has hundreds, piled on each other at the
  // zoom that shows the grid. Here only the vertices in view get a handle, at most one per
  // HANDLE_SPACING_PX square of the screen (the more angular vertex wins), and at most
  // MAX_HANDLES; the others keep their exact position and get their handle when the user zooms
  // in. Edge handles (to add a vertex) only between two neighbouring handles with room between.
  // ---------------------------------------------------------------------------------------------
  var HANDLE_SPACING_PX = L.Browser.touch ? 28 : 18;
  var MAX_HANDLES = 120;
  var handleStats = {vertices: 0, inView: 0, shown: 0};

  function toggle(group, marker, on) {
    if (!marker) { return; }
    if (on && !group.hasLayer(marker)) { group.addLayer(marker); }
    if (!on && group.hasLayer(marker)) { group.removeLayer(marker); }
  }

  function thinHandles(h) {
    var m = h._map, markers = h._markers, group = h._markerGroup;
    if (!m || !markers || !group) { return {vertices: 0, inView: 0, shown: 0}; }
    var n = markers.length, view = m.getBounds().pad(0.05), pts = new Array(n), candidates = [];
    for (var i = 0; i < n; i++) {
      var ll = markers[i].getLatLng();
      pts[i] = m.latLngToContainerPoint(ll);
      if (view.contains(ll)) { candidates.push(i); }
    }
    var weight = function (i) {  // twice the triangle area with the neighbours, in screen px²
      var a = pts[(i - 1 + n) % n], b = pts[i], c = pts[(i + 1) % n];
      return Math.abs((b.x - a.x) * (c.y - a.y) - (c.x - a.x) * (b.y - a.y));
    };
    candidates.sort(function (i, j) { return weight(j) - weight(i) || i - j; });
    var cells = {}, shown = new Array(n), count = 0, size = HANDLE_SPACING_PX;
    for (var k = 0; k < candidates.length && count < MAX_HANDLES; k++) {
      var idx = candidates[k], p = pts[idx], cx = Math.floor(p.x / size), cy = Math.floor(p.y / size), free = true;
      for (var dx = -1; dx <= 1 && free; dx++) {
        for (var dy = -1; dy <= 1 && free; dy++) {
          var near = cells[(cx + dx) + "," + (cy + dy)] || [];
          for (var q = 0; q < near.length; q++) { if (near[q].distanceTo(p) < size) { free = false; break; } }
        }
      }
      if (free) {
        (cells[cx + "," + cy] = cells[cx + "," + cy] || []).push(p);
        shown[idx] = true;
        count++;
      }
    }
    for (var v = 0; v < n; v++) {
      var next = (v + 1) % n;
      toggle(group, markers[v], !!shown[v]);
      toggle(group, markers[v]._middleRight,
             !!shown[v] && !!shown[next] && pts[v].distanceTo(pts[next]) >= 2 * size);
      if (v === 0 && markers[v]._middleLeft && markers[v]._middleLeft !== markers[n - 1]._middleRight) {
        toggle(group, markers[v]._middleLeft, false);  // an open line's first vertex has none
      }
    }
    return {vertices: n, inView: candidates.length, shown: count};
  }

  // Leaflet.Draw numbers the vertices by walking the handles on the map; hidden ones must be
  // renumbered too, or a vertex added later lands in the wrong place.
  L.Edit.PolyVerticesEdit.prototype._updateIndexes = function (from, step) {
    (this._markers || []).forEach(function (mk) { if (mk._index > from) { mk._index += step; } });
  };
  var initMarkers = L.Edit.PolyVerticesEdit.prototype._initMarkers;
  L.Edit.PolyVerticesEdit.prototype._initMarkers = function () {
    initMarkers.call(this);
    thinHandles(this);  // before the handles are put on the map: only the thinned set is drawn
  };

  function refreshHandles() {
    var total = {vertices: 0, inView: 0, shown: 0};
    parts.forEach(function (p) {
      if (!p.editing || !p.editing._verticesHandlers) { return; }
      p.editing._verticesHandlers.forEach(function (h) {
        var s = thinHandles(h);
        total.vertices += s.vertices; total.inView += s.inView; total.shown += s.shown;
      });
    });
    handleStats = total;
    if (parts.length) { hint.textContent = editHint(); }
  }

  function editHint() {
    var s = handleStats;
    if (s.shown >= s.inView) { return "拖动顶点修改边界（拖动边中点可增加顶点），修改会自动带回页面。"; }
    return "拖动顶点修改边界（显示视野内 " + s.shown + "/" + s.inView + " 个顶点，放大地图可拖动更多顶点）";
  }

  var map = null, gridLayer = null, overlayGroup = null, editGroup = null;
  var handler = null;       // active L.Draw handler (polygon or polyline)
  var editable = null;      // the (first) polygon whose vertices are being edited
  var parts = [];           // every polygon being edited (the parts of a MultiPolygon grid)
  var last = {grids: null, overlays: null, scene: null, view: null};
  var args = {};
  var seq = 0;

  var bar = document.getElementById("bar");
  var hint = document.getElementById("hint");

  function geojsonOf(layer) {
    return layer.toGeoJSON().geometry;
  }

  function post(geometry) {
    seq += 1;
    SEND("streamlit:setComponentValue", {
      value: {mode: args.mode, target_id: args.target_id, geometry: geometry, seq: seq, token: args.token},
      dataType: "json"
    });
  }

  function button(label, testId, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;   // text, never markup
    b.setAttribute("data-testid", testId);
    b.addEventListener("click", onClick);
    bar.appendChild(b);
    return b;
  }

  function setBar(text, buttons) {
    while (bar.firstChild) { bar.removeChild(bar.firstChild); }
    hint.textContent = text;
    bar.appendChild(hint);
    (buttons || []).forEach(function (b) { button(b[0], b[1], b[2]); });
  }

  function stopHandler() {
    if (handler) { handler.disable(); handler = null; }
    parts.forEach(function (p) { if (p.editing) { p.editing.disable(); } });
    parts = [];
    editable = null;
    editGroup.clearLayers();
  }

  function ensureMap() {
    if (map) { return; }
    var el = document.getElementById("map");
    el.style.height = (args.height || 560) + "px";
    map = L.map(el, {drawControlTooltips: true, doubleClickZoom: false, zoomControl: true});
    window.map = map;  // for tests and debugging, like folium's maps
    window.gridDraw = {handler: function () { return handler; }, editable: function () { return editable; },
                       parts: function () { return parts; }, handles: function () { return handleStats; }};
    map.on("moveend", function () { if (parts.length) { refreshHandles(); } });
    gridLayer = L.featureGroup().addTo(map);
    overlayGroup = L.featureGroup().addTo(map);
    editGroup = L.featureGroup().addTo(map);
    map.on(L.Draw.Event.CREATED, function (e) {
      handler = null;
      if (args.mode === "draw") {
        startEditing(geojsonOf(e.layer), "#1565c0");
        post(geojsonOf(e.layer));
      } else if (args.mode === "split") {
        var line = L.polyline(e.layer.getLatLngs(), {color: "#d50000", weight: 3, dashArray: "6 4"});
        editGroup.addLayer(line);
        post(geojsonOf(line));
        setBar("分割线已画好，可在下方预览并确认分割。", [["重新画分割线", "grid-draw-restart", restart]]);
      }
    });
    SEND("streamlit:setFrameHeight", {height: (args.height || 560) + 36});
  }

  function styleOf(feature, fallback) {
    var s = (feature && feature.properties && feature.properties.style) || {};
    var out = {};
    var k;
    for (k in fallback) { if (Object.prototype.hasOwnProperty.call(fallback, k)) { out[k] = fallback[k]; } }
    for (k in s) { if (Object.prototype.hasOwnProperty.call(s, k)) { out[k] = s[k]; } }
    return out;
  }

  function bindTips(feature, layer) {
    var p = feature.properties || {};
    if (p.tooltip_html) { layer.bindTooltip(p.tooltip_html, {sticky: true}); }  // escaped in Python
  }

  function drawGrids(fc) {
    gridLayer.clearLayers();
    if (!fc) { return; }
    L.geoJSON(fc, {
      style: function (f) { return styleOf(f, {color: "#6a1b9a", weight: 2, fillOpacity: 0.06}); },
      onEachFeature: bindTips
    }).eachLayer(function (l) { gridLayer.addLayer(l); });
  }

  function drawOverlays(list) {
    overlayGroup.clearLayers();
    (list || []).forEach(function (o) {
      L.geoJSON(o.data, {
        style: function (f) { return styleOf(f, o.style || {}); },
        onEachFeature: bindTips,
        interactive: true
      }).eachLayer(function (l) { overlayGroup.addLayer(l); });
    });
  }

  function targetGeometry() {
    var fc = args.grids, id = args.target_id;
    if (!fc || id === null || id === undefined) { return null; }
    for (var i = 0; i < fc.features.length; i++) {
      var f = fc.features[i];
      if (f.properties && f.properties.id === id) { return f.geometry; }
    }
    return null;
  }

  function currentGeometry() {
    // one part: a Polygon; several (a MultiPolygon grid): all parts, each possibly edited
    if (parts.length === 1) { return geojsonOf(parts[0]); }
    return {type: "MultiPolygon", coordinates: parts.map(function (p) { return geojsonOf(p).coordinates; })};
  }

  function startEditing(geometry, color) {
    stopHandler();
    var polygons = geometry.type === "MultiPolygon"
      ? geometry.coordinates.map(function (c) { return {type: "Polygon", coordinates: c}; })
      : [geometry];
    polygons.forEach(function (g) {
      // outline only: the fit preview drawn under it (gained/lost areas) stays visible
      var layer = L.geoJSON(g, {style: {color: color, weight: 2, dashArray: "6 4", fillOpacity: 0.02}}).getLayers()[0];
      if (!layer) { return; }
      editGroup.addLayer(layer);
      // what L.EditToolbar.Edit would set up: the style while editing and the style to restore
      layer.options.original = L.extend({}, layer.options);
      layer.options.editing = L.extend({}, layer.options);
      layer.editing.enable();
      layer.on("edit", function () {
        post(currentGeometry());
        setTimeout(refreshHandles, 0);  // after Leaflet.Draw has made the new edge handles
      });
      parts.push(layer);
    });
    editable = parts.length ? parts[0] : null;
    setBar("", [["放弃修改", "grid-draw-restart", restart]]);
    refreshHandles();
  }

  function startPolygon() {
    stopHandler();
    handler = new L.Draw.Polygon(map, {
      allowIntersection: true, showArea: false,
      shapeOptions: {color: "#1565c0", weight: 3, fillOpacity: 0.15}
    });
    handler.enable();
    setBar("单击地图添加顶点，单击第一个顶点或“完成”闭合边界。", [
      ["完成", "grid-draw-finish", function () { if (handler) { handler.completeShape(); } }],
      ["撤销上一点", "grid-draw-undo", function () { if (handler) { handler.deleteLastVertex(); } }],
      ["重新绘制", "grid-draw-restart", restart]
    ]);
  }

  function startLine() {
    stopHandler();
    handler = new L.Draw.Polyline(map, {shapeOptions: {color: "#d50000", weight: 3}, showLength: true});
    handler.enable();
    setBar("从网格外单击开始，穿过网格到另一侧网格外，单击最后一点或“完成”结束。", [
      ["完成", "grid-draw-finish", function () { if (handler) { handler.completeShape(); } }],
      ["撤销上一点", "grid-draw-undo", function () { if (handler) { handler.deleteLastVertex(); } }],
      ["重新画", "grid-draw-restart", restart]
    ]);
  }

  function restart() {
    // back to the state the page asked for, without the user's drawing
    var saved = args.draft;
    args.draft = null;
    scene();
    args.draft = saved;
    post(null);
  }

  function scene() {
    stopHandler();
    var mode = args.mode || "view";
    if (mode === "draw") {
      if (args.draft) { startEditing(args.draft, "#1565c0"); } else { startPolygon(); }
    } else if (mode === "edit") {
      var g = args.draft || targetGeometry();
      if (g) { startEditing(g, "#1565c0"); } else { setBar("请先在左侧选择要编辑的网格。", []); }
    } else if (mode === "split") {
      if (args.draft) {
        editGroup.addLayer(L.geoJSON(args.draft, {style: {color: "#d50000", weight: 3, dashArray: "6 4"}}));
        setBar("分割线已画好，可在下方预览并确认分割。", [["重新画分割线", "grid-draw-restart", restart]]);
      } else {
        startLine();
      }
    } else {
      setBar("", []);
    }
  }

  function render(newArgs) {
    args = newArgs || {};
    ensureMap();
    var grids = JSON.stringify(args.grids || null);
    if (grids !== last.grids) { drawGrids(args.grids); last.grids = grids; }
    var overlays = JSON.stringify(args.overlays || null);
    if (overlays !== last.overlays) { drawOverlays(args.overlays); last.overlays = overlays; }
    var view = JSON.stringify([args.view_key, args.bounds]);
    if (view !== last.view) {
      if (args.bounds) { map.fitBounds(args.bounds, {animate: false}); } else { map.setView([41.8, 126.9], 11); }
      last.view = view;
    }
    // redo the editing scene only when the page changed it (not when it echoes our own drawing)
    var sceneKey = JSON.stringify([args.mode, args.target_id, args.token, args.draft ? 1 : 0,
                                   editable || handler ? null : args.draft]);
    if (sceneKey !== last.scene) { scene(); last.scene = sceneKey; }
  }

  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.type === "streamlit:render") { render(data.args); }
  });
  SEND("streamlit:componentReady", {apiVersion: 1});
})();
