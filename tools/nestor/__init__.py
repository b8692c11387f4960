"""Host side of Nestor: build, image, boot, judge, test (the ./nestor command)."""
