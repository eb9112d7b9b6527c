"""The core: settings, database and migrations, the record store, consolidation, spatial, access and keys."""
