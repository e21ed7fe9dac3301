from mes.request_context import new_request_id, reset_request_id


class RequestIdMiddleware:
    """Gives each request an id (echoed in X-Request-ID) that audit entries record."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = new_request_id()
        try:
            from mes.request_context import current_request_id

            request.request_id = current_request_id()
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            return response
        finally:
            reset_request_id(token)
