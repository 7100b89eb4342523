-- requires: grids/001
-- Standard addresses (标准地址), structured after GA/T 2000.32's elements.
-- address_code: village code (12) + road or compound (3) + door number (4)
-- [+ building (2) + unit (2) + room (4)]. GB/T 39609's exact segment lengths were
-- not confirmed; this layout keeps the village code as its prefix so it joins.
CREATE TABLE gridgeo.addresses (
    id                  serial PRIMARY KEY,
    address_code        text NOT NULL UNIQUE
                            CHECK (address_code ~ '^[0-9]{19}([0-9]{8})?$'),
    province            text NOT NULL,
    city                text NOT NULL,
    county              text NOT NULL,
    township            text NOT NULL,
    village             text NOT NULL,
    village_code        text NOT NULL CHECK (village_code = left(address_code, 12)),
    road                text NOT NULL,
    house_number        text NOT NULL,
    building            text,
    unit                text,
    room                text,
    full_address        text NOT NULL,
    grid_code           text,
    dedicated_grid_code text,
    geom                geometry(Point, 4490) NOT NULL
);
CREATE INDEX addresses_geom_idx ON gridgeo.addresses USING gist (geom);
CREATE INDEX addresses_grid_idx ON gridgeo.addresses (grid_code);
CREATE TRIGGER addresses_grid_codes BEFORE INSERT OR UPDATE ON gridgeo.addresses
    FOR EACH ROW EXECUTE FUNCTION gridgeo.assign_grid_codes();

CREATE VIEW gridgeo.addresses_view AS
SELECT a.id, a.address_code, a.province, a.city, a.county, a.township, a.village,
       a.village_code, a.road, a.house_number, a.building, a.unit, a.room, a.full_address,
       a.grid_code, a.dedicated_grid_code, gridgeo.qr_url('a', a.address_code) AS qr_payload,
       a.geom
  FROM gridgeo.addresses a;
