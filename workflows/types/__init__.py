"""The values that cross the Temporal boundary, and the pure rules that build and check them."""
