//! The shape the admin collections share: a collection that lists and creates, and items that are
//! read, changed and deleted.

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, Route, web};

use crate::routes::method_not_allowed;

/// A handler actix can mount: the bounds `Resource::get` and its siblings ask of one, named once.
pub(crate) trait Endpoint<Args> {
    /// The route answering `method` with this handler.
    fn on(self, method: Method) -> Route;
}

impl<F, Args> Endpoint<Args> for F
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    fn on(self, method: Method) -> Route {
        web::method(method).to(self)
    }
}

/// The five handlers of a collection, mounted together by [`Crud::mount`] so that each resource
/// answers its methods and names exactly those in `Allow` for any other.
pub(crate) struct Crud<List, Create, Get, Update, Delete> {
    /// `GET` on the collection.
    pub list: List,
    /// `POST` on the collection.
    pub create: Create,
    /// `GET` on an item.
    pub get: Get,
    /// `PATCH` on an item.
    pub update: Update,
    /// `DELETE` on an item.
    pub delete: Delete,
}

impl<List, Create, Get, Update, Delete> Crud<List, Create, Get, Update, Delete> {
    /// Mounts the collection at `collection` (`GET`, `POST`) and its items at `item` (`GET`,
    /// `PATCH`, `DELETE`); another method is 405 with the resource's own methods in `Allow`.
    pub(crate) fn mount<L, C, G, U, D>(
        self,
        config: &mut web::ServiceConfig,
        collection: &str,
        item: &str,
    ) where
        List: Endpoint<L>,
        Create: Endpoint<C>,
        Get: Endpoint<G>,
        Update: Endpoint<U>,
        Delete: Endpoint<D>,
    {
        config
            .service(
                web::resource(collection)
                    .route(self.list.on(Method::GET))
                    .route(self.create.on(Method::POST))
                    .default_service(method_not_allowed("GET, POST")),
            )
            .service(
                web::resource(item)
                    .route(self.get.on(Method::GET))
                    .route(self.update.on(Method::PATCH))
                    .route(self.delete.on(Method::DELETE))
                    .default_service(method_not_allowed("GET, PATCH, DELETE")),
            );
    }
}
