// SystemModel
