/* RiverGrid: the river reaches drawn from the app's own vector tiles (/api/tiles/rivers/…) with
 * protomaps-leaflet, for maps whose store holds too many reaches to send them all (issue 19).
 *
 * RiverGridRivers.layer(url, options): a protomaps-leaflet layer in its own pane above the grids
 * and below the markers; it takes no clicks (a click reaches the map, and the page finds the
 * reach by a point query). options: {minZoom, maxDataZoom, bounds, color, widths: {level: px}}.
 *
 * When the first tile has been drawn the map's container gets data-river-tiles="drawn" and
 * window.rgRiverTilesFirstPaint the time (ms since the epoch, performance.timeOrigin + now()): the tests and the bench wait
 * for it.
 */
(function () {
    "use strict";
    var P = window.protomapsL;
    var PANE = "rgRivers";

    function width(options) {
        var widths = options.widths || {};
        return function (z, f) {
            var base = widths[f && f.props.level] || 2.5;
            return base * Math.max(0.35, Math.min(1.4, Math.pow(1.25, z - 12)));
        };
    }

    window.RiverGridRivers = {
        layer: function (url, options) {
            options = options || {};
            var layer = P.leafletLayer({
                url: url,
                maxDataZoom: options.maxDataZoom || 14,
                minZoom: options.minZoom || 0,
                bounds: options.bounds,
                levelDiff: 1,
                pane: PANE,
                paintRules: [{
                    dataLayer: "rivers",
                    symbolizer: new P.LineSymbolizer({
                        color: options.color || "#1565c0", width: width(options), opacity: 0.9,
                        lineCap: "round", lineJoin: "round"
                    })
                }],
                labelRules: [],
                attribution: options.attribution || "河段"
            });
            var onAdd = layer.onAdd;
            layer.onAdd = function (map) {
                if (!map.getPane(PANE)) {  /* the pane must exist before the layer puts its tiles in it */
                    var pane = map.createPane(PANE);
                    pane.style.zIndex = 450;  /* above the grids (overlayPane 400), below markers (600) */
                    pane.style.pointerEvents = "none";
                }
                return onAdd.call(this, map);
            };
            layer.on("tileload", function () {
                var map = layer._map;
                if (map && !map.getContainer().dataset.riverTiles) {
                    window.rgRiverTilesFirstPaint = performance.timeOrigin + performance.now();
                    map.getContainer().dataset.riverTiles = "drawn";
                }
            });
            return layer;
        }
    };
})();
