package main

import (
	"image"
	"image/color"
	"strings"
)

// glyphs is a 3x5 pixel font: five rows of three pixels, '#' set. Letters
// are upper case only; drawText upper-cases its input.
var glyphs = map[rune]string{
	'0': "### #.# #.# #.# ###", '1': ".#. ##. .#. .#. ###", '2': "### ..# ### #.. ###",
	'3': "### ..# .## ..# ###", '4': "#.# #.# ### ..# ..#", '5': "### #.. ### ..# ###",
	'6': "### #.. ### #.# ###", '7': "### ..# .#. .#. .#.", '8': "### #.# ### #.# ###",
	'9': "### #.# ### ..# ###",
	'A': ".#. #.# ### #.# #.#", 'B': "##. #.# ##. #.# ##.", 'C': ".## #.. #.. #.. .##",
	'D': "##. #.# #.# #.# ##.", 'E': "### #.. ##. #.. ###", 'F': "### #.. ##. #.. #..",
	'G': ".## #.. #.# #.# .##", 'H': "#.# #.# ### #.# #.#", 'I': "### .#. .#. .#. ###",
	'J': "..# ..# ..# #.# .#.", 'K': "#.# #.# ##. #.# #.#", 'L': "#.. #.. #.. #.. ###",
	'M': "#.# ### ### #.# #.#", 'N': "##. #.# #.# #.# #.#", 'O': ".#. #.# #.# #.# .#.",
	'P': "##. #.# ##. #.. #..", 'Q': ".#. #.# #.# ### .##", 'R': "##. #.# ##. #.# #.#",
	'S': ".## #.. .#. ..# ##.", 'T': "### .#. .#. .#. .#.", 'U': "#.# #.# #.# #.# ###",
	'V': "#.# #.# #.# #.# .#.", 'W': "#.# #.# ### ### #.#", 'X': "#.# #.# .#. #.# #.#",
	'Y': "#.# #.# .#. .#. .#.", 'Z': "### ..# .#. #.. ###",
	'.': "... ... ... ... .#.", ',': "... ... ... .#. #..", '-': "... ... ### ... ...", '/': "..# ..# .#. #.. #..",
	'(': ".#. #.. #.. #.. .#.", ')': ".#. ..# ..# ..# .#.", ':': "... .#. ... .#. ...",
	'=': "... ### ... ### ...", '>': "#.. .#. ..# .#. #..", '<': "..# .#. #.. .#. ..#",
}

// textScale is the size of one font pixel in image pixels.
const textScale = 2

// textWidth returns the width in pixels drawText uses for s.
func textWidth(s string) int { return len([]rune(s)) * 4 * textScale }

// drawText draws s with its top-left corner at (x, y); unknown runes are
// drawn as spaces.
func drawText(img *image.RGBA, x, y int, s string, c color.Color) {
	for _, r := range strings.ToUpper(s) {
		rows := strings.Fields(glyphs[r])
		for gy, row := range rows {
			for gx, px := range row {
				if px == '#' {
					fillRect(img, x+gx*textScale, y+gy*textScale, textScale, textScale, c)
				}
			}
		}
		x += 4 * textScale
	}
}

// fillRect fills the w x h rectangle at (x, y).
func fillRect(img *image.RGBA, x, y, w, h int, c color.Color) {
	for yy := y; yy < y+h; yy++ {
		for xx := x; xx < x+w; xx++ {
			img.Set(xx, yy, c)
		}
	}
}
