//! Static export of the public tiles to PMTiles and MBTiles.
