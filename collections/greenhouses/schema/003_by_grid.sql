-- requires: greenhouses/001
-- A grid's greenhouses by its code: the 考核 figures (grid_figures) count them per grid,
-- and one grid's figures must not read every greenhouse of the county.
CREATE INDEX greenhouses_grid_code_idx ON gridgeo.greenhouses (grid_code);
