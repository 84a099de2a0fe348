# -*- coding: utf-8 -*-
"""A stand-in for GIMP 2.10's ``gimpfu`` module (Python 2.7), just enough to run the plug-in.

No Debian release can run GIMP 2.10's Python-Fu any more (its Python 2 GTK bindings are gone),
so tests/test_gimp210.py exercises gimp_plugin/gimp210/colorize_gimp210.py against this model
of the parts of the 2.10 API it uses: register/main, pdb undo groups, gimp-drawable-mask-intersect,
image conversion to RGB, pixel regions (read, and write through the shadow with merge_shadow
applying the selection mask), new layers (gimp.Layer, gimp-image-insert-layer, layer modes),
layers found by name, progress and messages. Semantics follow the 2.10 reference docs.
"""
RGB, GRAY, INDEXED = 0, 1, 2
RGB_IMAGE, RGBA_IMAGE, GRAY_IMAGE, GRAYA_IMAGE = 0, 1, 2, 3
LAYER_MODE_NORMAL, LAYER_MODE_LCH_COLOR = 28, 26  # GimpLayerMode values of GIMP 2.10
PF_IMAGE, PF_DRAWABLE, PF_SLIDER, PF_STRING, PF_INT, PF_FLOAT, PF_OPTION = range(7)
_BPP = {RGB_IMAGE: 3, RGBA_IMAGE: 4, GRAY_IMAGE: 1, GRAYA_IMAGE: 2}

REGISTERED = {}
LOG = []


def register(name, blurb, help, author, copyright, date, label, imagetypes, params, results,
             function, menu=None, **kw):
    REGISTERED[name] = dict(function=function, label=label, imagetypes=imagetypes, params=params,
                            menu=menu)


def main():
    pass


class _Gimp(object):
    def progress_init(self, text=None):
        LOG.append(("progress_init", text))

    def progress_update(self, f):
        LOG.append(("progress", f))

    def message(self, text):
        LOG.append(("message", text))

    def displays_flush(self):
        LOG.append(("flush",))

    def Layer(self, image, name, width, height, type, opacity, mode):  # noqa: N802 (gimpfu's name)
        """gimp.Layer: a new, transparent, not yet inserted layer."""
        layer = Layer(image, name, width, height, _BPP[type], attach=False)
        layer.opacity, layer.mode = opacity, mode
        return layer


gimp = _Gimp()


class Image(object):
    def __init__(self, width, height, base_type):
        self.width, self.height, self.base_type = width, height, base_type
        self.layers = []
        self.selection = None  # None (select all) or bytearray of width*height 0..255
        self.undo_groups = []
        self.undo_steps = 0


class Layer(object):
    _next_id = [1]

    def __init__(self, image, name, width, height, bpp, offsets=(0, 0), data=None, attach=True):
        self.image, self.name, self.width, self.height, self.bpp = image, name, width, height, bpp
        self.offsets = tuple(offsets)
        self.pixels = bytearray(data) if data is not None else bytearray(width * height * bpp)
        self.shadow = None
        self.is_mask = False
        self.is_group = False
        self.opacity, self.mode = 100.0, LAYER_MODE_NORMAL
        self.ID = Layer._next_id[0]
        Layer._next_id[0] += 1
        if attach:
            image.layers.append(self)

    def set_offsets(self, x, y):
        self.offsets = (x, y)

    @property
    def has_alpha(self):
        return self.bpp in (2, 4)

    def get_pixel_rgn(self, x, y, w, h, dirty, shadow):
        if shadow and self.shadow is None:
            self.shadow = bytearray(self.pixels)
        return PixelRgn(self, x, y, w, h, self.shadow if shadow else self.pixels)

    def flush(self):
        LOG.append(("drawable_flush", self.name))

    def merge_shadow(self, undo):
        sel = self.image.selection
        ox, oy = self.offsets
        iw = self.image.width
        out = bytearray(self.pixels)
        for y in range(self.height):
            for x in range(self.width):
                ix, iy = x + ox, y + oy
                if sel is None:
                    m = 255
                elif 0 <= ix < iw and 0 <= iy < self.image.height:
                    m = sel[iy * iw + ix]
                else:
                    m = 0
                if m == 0:
                    continue
                i = (y * self.width + x) * self.bpp
                for c in range(self.bpp):
                    a, b = self.pixels[i + c], self.shadow[i + c]
                    out[i + c] = (a * (255 - m) + b * m + 127) // 255
        self.pixels = out
        self.shadow = None
        if undo:
            self.image.undo_steps += 1

    def update(self, x, y, w, h):
        LOG.append(("update", self.name, x, y, w, h))


class PixelRgn(object):
    def __init__(self, layer, x, y, w, h, buf):
        self.layer, self.x, self.y, self.w, self.h, self.buf = layer, x, y, w, h, buf

    def _rows(self, xs, ys):
        assert xs.start >= self.x and xs.stop <= self.x + self.w, (xs, self.x, self.w)
        assert ys.start >= self.y and ys.stop <= self.y + self.h, (ys, self.y, self.h)
        bpp, lw = self.layer.bpp, self.layer.width
        for row in range(ys.start, ys.stop):
            yield (row * lw + xs.start) * bpp, (row * lw + xs.stop) * bpp

    def __getitem__(self, key):
        xs, ys = key
        return b"".join(bytes(self.buf[a:b]) for a, b in self._rows(xs, ys))

    def __setitem__(self, key, data):
        xs, ys = key
        pos = 0
        for a, b in self._rows(xs, ys):
            self.buf[a:b] = bytearray(data[pos:pos + b - a])
            pos += b - a
        assert pos == len(data), (pos, len(data))


class _Pdb(object):
    def gimp_item_is_layer(self, d):
        return isinstance(d, Layer)

    def gimp_item_is_layer_mask(self, d):
        return getattr(d, "is_mask", False)

    def gimp_item_is_group(self, d):
        return getattr(d, "is_group", False)

    def gimp_drawable_mask_intersect(self, d):
        img = d.image
        ox, oy = d.offsets
        if img.selection is None or not any(img.selection):
            return (True, 0, 0, d.width, d.height)
        xs, ys = [], []
        for y in range(d.height):
            for x in range(d.width):
                ix, iy = x + ox, y + oy
                if 0 <= ix < img.width and 0 <= iy < img.height and img.selection[iy * img.width + ix]:
                    xs.append(x)
                    ys.append(y)
        if not xs:
            return (False, 0, 0, 0, 0)
        return (True, min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1)

    def gimp_image_get_layer_by_name(self, img, name):
        return next((layer for layer in img.layers if layer.name == name), None)

    def gimp_item_get_parent(self, item):
        return None  # the stand-in has no layer groups

    def gimp_image_get_item_position(self, img, item):
        return img.layers.index(item)

    def gimp_image_insert_layer(self, img, layer, parent, position):
        assert parent is None and layer not in img.layers
        if img.base_type != RGB and layer.bpp in (3, 4):
            raise RuntimeError("Layer type does not match the image's base type")
        img.layers.insert(position, layer)
        img.undo_steps += 1

    def gimp_image_undo_group_start(self, img):
        img.undo_groups.append("start")

    def gimp_image_undo_group_end(self, img):
        img.undo_groups.append("end")

    def gimp_image_base_type(self, img):
        return img.base_type

    def gimp_image_convert_rgb(self, img):
        if img.base_type == RGB:
            raise RuntimeError("Image is already RGB")
        for layer in img.layers:
            src, bpp = layer.pixels, layer.bpp
            out = bytearray()
            for i in range(0, len(src), bpp):
                g = src[i]
                out += bytearray((g, g, g)) + (bytearray((src[i + 1],)) if bpp == 2 else bytearray())
            layer.pixels = out
            layer.bpp = bpp + 2
        img.base_type = RGB
        img.undo_steps += 1


pdb = _Pdb()
