/* RiverGrid packed map layers: the browser side of layers/packed.py (decoder of the packed
 * layers, feature builders, and the click and layer-state bridge to streamlit-folium).
 * Served by Streamlit from static/rivergrid/ (no CDN); layers.packed.Runtime links it into each map.
 * window.RG is created once per frame and kept across re-renders of the map. */
window.RG = window.RG || (function () {
    var RG = {overlays: [], bases: [], labels: [], selected: null, pin: null, map: null,
              stats: {loaded: performance.now(), features: 0, buildMs: 0, started: null}};

    RG.decode = function (s) {
        var i = 0, n = s.length, lat = 0, lng = 0, out = [];
        function next() {
            var result = 0, factor = 1, b;
            do {
                b = s.charCodeAt(i++) - 63;
                result += (b & 31) * factor;
                factor *= 32;
            } while (b >= 32);
            return (result % 2) ? -(result + 1) / 2 : result / 2;
        }
        while (i < n) {
            lat += next();
            lng += next();
            out.push([lat / 1e6, lng / 1e6]);
        }
        return out;
    };

    RG.tooltip = function (lines) {
        var box = document.createElement("div");
        for (var k = 0; k < lines.length; k++) {
            var line = document.createElement(k === 0 ? "b" : "div");
            line.textContent = lines[k];
            if (k === 0) { line.style.display = "block"; }
            box.appendChild(line);
        }
        return box;
    };

    RG.dotIcon = function (st) {
        var r = st.radius || 7, w = st.weight || 1, size = Math.round(2 * (r + w));
        var dot = document.createElement("div");
        dot.style.cssText = "box-sizing:border-box;border-radius:50%;width:" + size + "px;height:" + size + "px";
        dot.style.background = st.fillColor || "#607d8b";
        dot.style.opacity = st.fillOpacity || 1;
        dot.style.border = w + "px solid " + (st.color || "#fff");
        return L.divIcon({html: dot, className: "rg-dot", iconSize: [size, size], iconAnchor: [size / 2, size / 2]});
    };

    RG.label = function (text, color) {
        var box = document.createElement("div");
        box.className = "rg-label-text";
        box.style.color = color;
        box.textContent = text;
        return L.divIcon({html: box, className: "rg-grid-label", iconSize: null});
    };

    RG.canvas = function () {
        if (!RG._canvas) { RG._canvas = L.canvas({padding: 0.3, tolerance: 3}); }
        return RG._canvas;
    };

    RG.isPath = function (layer) { return typeof layer.setStyle === "function"; };

    RG.select = function (layer) {
        if (RG.selected && RG.selected !== layer && RG.isPath(RG.selected)) {
            RG.selected.setStyle(RG.selected._rgStyle);
        }
        RG.selected = layer;
        if (layer && RG.isPath(layer)) {
            layer.setStyle({color: "#00b8d4", weight: (layer._rgStyle.weight || 2) + 3, opacity: 1});
            if (layer.bringToFront && layer._rg.k !== "grid") { layer.bringToFront(); }
        }
    };

    RG.mark = function (latlng) {
        if (!RG.map) { return; }
        if (!RG.pin) {
            RG.pin = L.circleMarker(latlng, {radius: 9, color: "#00b8d4", weight: 3, fill: true,
                fillColor: "#00b8d4", fillOpacity: 0.25, interactive: false});
        }
        RG.pin.setLatLng(latlng);
        if (!RG.map.hasLayer(RG.pin)) { RG.pin.addTo(RG.map); }
    };

    RG.send = function (latlng, ref) {
        var g = window.__GLOBAL_DATA__;
        if (!g || !RG.map) { return; }
        g.last_object_clicked = latlng;
        g.last_object_clicked_tooltip = ref;
        g.last_object_clicked_count = (g.last_object_clicked_count || 0) + 1;
        RG.map.fire("moveend");  /* streamlit-folium sends its value (debounced) on moveend */
    };

    RG.clicked = function (e) {
        var layer = e.target, ref = "rg:" + layer._rg.k + ":" + layer._rg.id;
        RG.featureClick = true;  /* the map's own click (paths let it bubble) must not undo this */
        window.setTimeout(function () { RG.featureClick = false; }, 0);
        var latlng = layer.getLatLng ? layer.getLatLng() : e.latlng;
        RG.select(layer);
        if (!layer.getLatLng) { RG.mark(e.latlng); } else if (RG.pin && RG.map) { RG.map.removeLayer(RG.pin); }
        /* after streamlit-folium's own click handlers, which write the tooltip text */
        window.setTimeout(function () { RG.send({lat: latlng.lat, lng: latlng.lng}, ref); }, 0);
    };

    RG.hover = function (layer, extra) {
        layer.on("mouseover", function () {
            if (RG.selected !== layer) { layer.setStyle({weight: (layer._rgStyle.weight || 2) + extra}); }
        });
        layer.on("mouseout", function () {
            if (RG.selected !== layer) { layer.setStyle(layer._rgStyle); }
        });
    };

    RG.feature = function (spec, f, renderer) {
        var st = L.extend({}, spec.s[f[1]]), layer;
        if (renderer) { st.renderer = renderer; }
        if (spec.g === "line") {
            layer = L.polyline(f[3].map(RG.decode), st);
        } else if (spec.g === "area") {
            layer = L.polygon(f[3].map(function (p) { return p.map(RG.decode); }), st);
        } else if (spec.g === "dot" && !spec.cl) {
            layer = L.circleMarker(f[3], st);
        } else if (spec.g === "dot") {
            layer = L.marker(f[3], {icon: RG.dotIcon(st)});
        } else {
            layer = L.marker(f[3], {icon: L.AwesomeMarkers.icon(st)});
        }
        layer._rg = {k: spec.k, id: f[0]};
        layer._rgStyle = st;
        if (f[2].length) {
            var lines = f[2].map(function (i) { return spec.t[i]; });
            layer.bindTooltip(function () { return RG.tooltip(lines); },
                {sticky: spec.g === "line" || spec.g === "area", direction: "top"});
        }
        layer.on("click", RG.clicked);
        if (spec.h && RG.isPath(layer)) { RG.hover(layer, spec.h); }
        return layer;
    };

    RG.add = function (parent, spec) {
        var t0 = performance.now();
        var shape = spec.g === "line" || spec.g === "area";
        var renderer = shape && (spec.c || RG.preferCanvas) ? RG.canvas() : null, layers = [];
        for (var k = 0; k < spec.f.length; k++) { layers.push(RG.feature(spec, spec.f[k], renderer)); }
        var group = L.featureGroup(layers);
        if (spec.lb) {
            var labels = L.layerGroup(spec.lb.map(function (lb) {
                return L.marker([lb[0], lb[1]], {icon: RG.label(lb[2], lb[3]), interactive: false, keyboard: false});
            }));
            group.addLayer(labels);
            if (spec.lz) { RG.labels.push({group: group, labels: labels, minZoom: spec.lz}); }
        }
        if (spec.cl && L.markerClusterGroup) {
            var cluster = L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 50});
            cluster.addLayers(layers);
            parent.addLayer(cluster);
        } else {
            parent.addLayer(group);
        }
        RG.stats.features += layers.length;
        RG.stats.buildMs += performance.now() - t0;
        return group;
    };

    RG.tag = function (layer, role, name) {
        (role === "base" ? RG.bases : RG.overlays).push({layer: layer, name: name});
    };

    RG.sync = function () {
        var g = window.__GLOBAL_DATA__;
        if (!g || !RG.map) { return; }
        var selected = {}, key;
        for (key in (g.selected_layers || {})) {
            if (key.indexOf("rg:") !== 0) { selected[key] = g.selected_layers[key]; }
        }
        RG.overlays.forEach(function (o) {
            if (RG.map.hasLayer(o.layer)) { selected["rg:o:" + o.name] = {name: o.name, url: "rg:overlay"}; }
        });
        RG.bases.forEach(function (b) {
            if (RG.map.hasLayer(b.layer)) { selected["rg:b:" + b.name] = {name: b.name, url: "rg:base"}; }
        });
        g.selected_layers = selected;
    };

    RG.showLabels = function () {
        var zoom = RG.map.getZoom();
        RG.labels.forEach(function (l) {
            if (zoom >= l.minZoom && !l.group.hasLayer(l.labels)) { l.group.addLayer(l.labels); }
            if (zoom < l.minZoom && l.group.hasLayer(l.labels)) { l.group.removeLayer(l.labels); }
        });
    };

    RG.start = function (map) {
        RG.map = map;
        RG.stats.started = performance.now();
        if (RG.labels.length) { map.on("zoomend", RG.showLabels); RG.showLabels(); }
        map.on("click", function (e) {
            if (RG.featureClick) { return; }
            RG.select(null);
            RG.mark(e.latlng);
        });
        map.on("overlayadd overlayremove baselayerchange", function () { RG.sync(); map.fire("moveend"); });
        RG.sync();
    };

    return RG;
})();
