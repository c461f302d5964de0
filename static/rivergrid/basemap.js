/* RiverGrid basemaps drawn from vector tiles with protomaps-leaflet (static/vendor/protomaps-leaflet).
 *
 * RiverGridBasemap.simple(url, options): the bundled 简图 (gis/basemap/simple.py writes its features,
 *   one layer "basemap", told apart by the property "kind"): a light sheet, the deployment area lighter
 *   still, blue rivers, grey grid boundaries (dash-dot county, dashed township, dotted village), a
 *   graticule every 60'/30'/10'/5'/1' by zoom, grid, river and object names.
 * RiverGridBasemap.protomaps(url, options): a vector tile file in the Protomaps basemap schema
 *   (RIVERGRID_TILES), drawn with protomaps-leaflet's own light style and Chinese names.
 *
 * options: {attribution, minZoom, maxDataZoom, bounds: [[south, west], [north, east]]}. Tiles are
 * asked for only inside the bounds and zooms of the file, so no request ends in a 404.
 */
(function () {
    "use strict";
    var P = window.protomapsL;
    var FONT = '"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",' +
        '"WenQuanYi Micro Hei",sans-serif';
    var COLORS = {
        background: "#eef1f4",
        sheet: "#f3f1ea",
        area: "#fcfbf7",
        water: "#7fb2e5",
        waterText: "#2f6fb0",
        county: "#7d838c",
        township: "#959ba3",
        village: "#aeb3ba",
        graticule: "#d3d9df",
        graticuleText: "#8b96a2",
        place: "#3f454d",
        poi: "#6b7079",
        halo: "rgba(255,255,255,0.92)"
    };
    // the finest graticule rank (0: 60', 1: 30', 2: 10', 3: 5', 4: 1') shown at each zoom
    function graticuleRank(z) { return z >= 13 ? 4 : z >= 11 ? 3 : z >= 10 ? 2 : z >= 8 ? 1 : 0; }
    var WATER_WIDTH = {province: 3.2, city: 2.6, county: 2.2, township: 1.7, village: 1.3};
    function waterWidth(z, f) {
        var base = WATER_WIDTH[f && f.props.level] || 1.5;
        return base * Math.max(0.6, Math.min(5, Math.pow(1.45, z - 11)));
    }
    function kind(name) { return function (z, f) { return f.props.kind === name; }; }
    function boundary(level) {
        return function (z, f) { return f.props.kind === "boundary" && f.props.level === level; };
    }
    function place(rank) {
        return function (z, f) {
            return f.props.kind === "place" && f.props.rank === rank && z >= (f.props.minzoom || 0);
        };
    }

    function simplePaintRules() {
        return [
            {dataLayer: "basemap", filter: kind("paper"), symbolizer: new P.PolygonSymbolizer({fill: COLORS.sheet})},
            {dataLayer: "basemap", filter: kind("area"), symbolizer: new P.PolygonSymbolizer({fill: COLORS.area})},
            {
                dataLayer: "basemap",
                filter: function (z, f) { return f.props.kind === "graticule" && f.props.rank <= graticuleRank(z); },
                symbolizer: new P.LineSymbolizer({color: COLORS.graticule, width: 0.8})
            },
            {
                dataLayer: "basemap",
                filter: kind("water"),
                symbolizer: new P.LineSymbolizer({
                    color: COLORS.water, width: waterWidth, lineCap: "round", lineJoin: "round"
                })
            },
            {
                dataLayer: "basemap", filter: boundary("village"), minzoom: 11,
                symbolizer: new P.LineSymbolizer({color: COLORS.village, width: 1, dash: [2, 3], dashColor: COLORS.village})
            },
            {
                dataLayer: "basemap", filter: boundary("township"), minzoom: 9,
                symbolizer: new P.LineSymbolizer({color: COLORS.township, width: 1.4, dash: [7, 3], dashColor: COLORS.township})
            },
            {
                dataLayer: "basemap", filter: boundary("county"),
                symbolizer: new P.LineSymbolizer({
                    color: COLORS.county, width: 2, dash: [9, 3, 2, 3], dashColor: COLORS.county
                })
            }
        ];
    }

    function text(size, color, weight) {
        return {fontFamily: FONT, fontSize: size, fontWeight: weight || 400, fill: color, stroke: COLORS.halo, width: 2.5};
    }

    function simpleLabelRules() {
        return [
            {dataLayer: "basemap", filter: place(0), symbolizer: new P.CenteredTextSymbolizer(text(17, COLORS.place, 600))},
            {dataLayer: "basemap", filter: place(1), symbolizer: new P.CenteredTextSymbolizer(text(15, COLORS.place, 600))},
            {dataLayer: "basemap", filter: place(2), symbolizer: new P.CenteredTextSymbolizer(text(13, COLORS.place, 500))},
            {
                dataLayer: "basemap", filter: kind("water"), minzoom: 9,
                symbolizer: new P.LineLabelSymbolizer(Object.assign(text(13, COLORS.waterText, 500), {repeatDistance: 420}))
            },
            {
                dataLayer: "basemap", filter: kind("poi"), minzoom: 14,
                symbolizer: new P.OffsetTextSymbolizer(Object.assign(text(11, COLORS.poi), {offsetX: 9, offsetY: -3}))
            },
            {
                dataLayer: "basemap",
                filter: function (z, f) { return f.props.kind === "graticule" && f.props.rank <= graticuleRank(z); },
                symbolizer: new P.LineLabelSymbolizer(Object.assign(text(10, COLORS.graticuleText), {repeatDistance: 520}))
            }
        ];
    }

    function common(url, options) {
        options = options || {};
        var layer = {
            url: url,
            maxDataZoom: options.maxDataZoom || 13,
            minZoom: options.minZoom || 0,
            attribution: options.attribution || "",
            // one data tile serves 2x2 screen tiles: a quarter of the requests
            levelDiff: 1
        };
        if (options.bounds) { layer.bounds = options.bounds; }
        return layer;
    }

    window.RiverGridBasemap = {
        colors: COLORS,
        simple: function (url, options) {
            return P.leafletLayer(Object.assign(common(url, options), {
                paintRules: simplePaintRules(),
                labelRules: simpleLabelRules()  // no background: the sheet is the "paper" polygon
            }));
        },
        protomaps: function (url, options) {
            return P.leafletLayer(Object.assign(common(url, options), {flavor: "light", lang: "zh"}));
        }
    };
})();
