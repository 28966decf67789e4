"""The room's routes, one router per part of the API (:func:`tutka.room.api.create_app` includes
them in this order, which is also the order of ``/openapi.json``)."""
