//! Token emission: the function as written, and its `_isolated` sibling.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Attribute, ImplItem, Item, ItemImpl, LitStr, Meta, TraitItemFn, Type, WherePredicate};

use crate::args::Options;
use crate::model::{Context, Function, Model, Output};
use crate::types::{
    contains_impl_trait, mentions_generics, with_send_impl_traits, ResultShape, Supplied,
};
use crate::valid::{check, Errors};

/// The attribute's entry point: parses, hands off by item kind, and turns
/// errors into `compile_error!`s beside the best item it can still emit.
pub(crate) fn isolated(args: TokenStream, item: TokenStream) -> TokenStream {
    let options = match syn::parse2::<Options>(args) {
        Ok(options) => options,
        Err(error) => return with_errors(item, error),
    };
    let parsed = match syn::parse2::<Item>(item.clone()) {
        Ok(parsed) => parsed,
        Err(error) => return with_errors(item, error),
    };
    match parsed {
        Item::Fn(function) => {
            let func = Function {
                attrs: &function.attrs,
                vis: &function.vis,
                sig: &function.sig,
            };
            let (wrapper, errors) = expand_function(func, &options, &Context::Free);
            let mut tokens = function.to_token_stream();
            tokens.extend(wrapper);
            finish(tokens, errors)
        }
        Item::Impl(item_impl) => expand_impl(item_impl, options),
        Item::Trait(item_trait) => with_errors(
            item,
            syn::Error::new(
                item_trait.trait_token.span(),
                "#[isolated] cannot be used on a trait: put it on functions, or on an inherent `impl` block",
            ),
        ),
        Item::Verbatim(tokens) => {
            let error = match syn::parse2::<TraitItemFn>(tokens) {
                Ok(trait_fn) => syn::Error::new_spanned(
                    &trait_fn.sig,
                    "#[isolated] needs a function with a body: it cannot be used on a trait item; put it on the function in an inherent `impl` block",
                ),
                Err(_) => syn::Error::new(
                    Span::call_site(),
                    "#[isolated] applies to functions and inherent `impl` blocks",
                ),
            };
            with_errors(item, error)
        }
        other => {
            let span = match &other {
                Item::Struct(s) => s.struct_token.span(),
                Item::Enum(e) => e.enum_token.span(),
                _ => Span::call_site(),
            };
            with_errors(
                item,
                syn::Error::new(span, "#[isolated] applies to functions and inherent `impl` blocks"),
            )
        }
    }
}

fn with_errors(mut item: TokenStream, error: syn::Error) -> TokenStream {
    item.extend(error.into_compile_error());
    item
}

fn finish(mut tokens: TokenStream, errors: Errors) -> TokenStream {
    if let Err(error) = errors.into_result() {
        tokens.extend(error.into_compile_error());
    }
    tokens
}

fn is_isolated_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "isolated")
}

// Input:
//     #[isolated] impl Parser { #[isolated] fn helper(x: u32) -> u32 { .. } }
// Output:
//     impl Parser {
//         fn helper(x: u32) -> u32 { .. }
//         fn helper_isolated(x: u32) -> IsolateHandle<u32> { .. Self::helper .. }
//     }
fn expand_impl(mut item_impl: ItemImpl, options: Options) -> TokenStream {
    let mut errors = Errors::default();
    errors.extend(options.errors);
    if options.name.is_some()
        || options.dedicated.is_some()
        || options.stack_size.is_some()
        || options.timeout.is_some()
        || options.wrapper.is_some()
        || options.no_fold.is_some()
        || options.krate.is_some()
    {
        errors.push(syn::Error::new(
            Span::call_site(),
            "#[isolated] on an `impl` block takes no options: put them on each function's #[isolated(...)]",
        ));
    }
    if let Some((_, path, _)) = &item_impl.trait_ {
        errors.push(syn::Error::new(
            path.span(),
            "#[isolated] cannot be used on a trait impl: the `_isolated` functions it adds are not members of the trait; put them in an inherent `impl` block",
        ));
        return finish(item_impl.to_token_stream(), errors);
    }
    let impl_generics = item_impl.generics.clone();
    let mut items = Vec::with_capacity(item_impl.items.len());
    for item in std::mem::take(&mut item_impl.items) {
        let ImplItem::Fn(mut function) = item else {
            items.push(item);
            continue;
        };
        let Some(position) = function.attrs.iter().position(is_isolated_attr) else {
            items.push(ImplItem::Fn(function));
            continue;
        };
        let attr = function.attrs.remove(position);
        let options = match &attr.meta {
            Meta::Path(_) => Ok(Options::default()),
            Meta::List(list) => syn::parse2::<Options>(list.tokens.clone()),
            Meta::NameValue(nv) => Err(syn::Error::new(
                nv.span(),
                "#[isolated] takes its options in parentheses: #[isolated(name = \"...\")]",
            )),
        };
        let options = match options {
            Ok(options) => options,
            Err(error) => {
                errors.push(error);
                items.push(ImplItem::Fn(function));
                continue;
            }
        };
        let func = Function {
            attrs: &function.attrs,
            vis: &function.vis,
            sig: &function.sig,
        };
        let context = Context::Impl {
            impl_generics: Some(&impl_generics),
        };
        let (wrapper, function_errors) = expand_function(func, &options, &context);
        if let Err(error) = function_errors.into_result() {
            errors.push(error);
        }
        items.push(ImplItem::Fn(function));
        if !wrapper.is_empty() {
            items.push(ImplItem::Verbatim(wrapper));
        }
    }
    item_impl.items = items;
    finish(item_impl.to_token_stream(), errors)
}

// Input:
//     #[isolated]
//     pub fn checksum<T: AsRef<[u8]>>(data: T) -> io::Result<u64> { .. }
// Output (beside the function, unchanged):
//     /// Runs [`checksum`] on an isolate ...
//     #[must_use = ".."]
//     pub fn checksum_isolated<T: AsRef<[u8]>>(data: T)
//         -> ::isolate::IsolateHandle<<io::Result<u64> as FoldResult>::Ok, <.. as FoldResult>::Err>
//     where T: IsolateArg
//     {
//         fn __spawn<A0: IsolateArg, R: FoldResult, F: FnOnce(A0) -> R + Send + 'static>(
//             builder: Builder, a0: A0, f: F,
//         ) -> IsolateHandle<R::Ok, R::Err> where R::Ok: IsolateReturn, R::Err: IsolateReturn {
//             builder.try_run(move || FoldResult::into_result(f(a0)))
//         }
//         __spawn::<T, io::Result<u64>, _>(Builder::new().name("checksum"), data, checksum)
//     }
// The turbofish carries the user's own type tokens, so a type that cannot
// cross threads is reported at the user's parameter, in the words of the
// `IsolateArg` / `IsolateReturn` traits.
fn expand_function(
    func: Function<'_>,
    options: &Options,
    context: &Context<'_>,
) -> (TokenStream, Errors) {
    let mut errors = Errors::default();
    errors.extend(options.errors.iter().cloned());
    let model = Model::new(func, context, options.no_fold.is_some());
    check(&model, options, &mut errors);
    if let (Some(timeout), Some(Supplied::Port(..))) = (&options.timeout, model.supplied()) {
        errors.push(syn::Error::new(
            timeout.span(),
            "#[isolated(timeout = ...)] does not apply to a long-running worker (a function with a `Port` parameter): it runs until its caller stops it",
        ));
    }
    let failed = !errors.is_empty();
    // A wrapper is still emitted after a mistake, so that its callers do not
    // add errors of their own; its body is never run, as the crate fails to
    // compile. Only an unnameable return type leaves it out.
    let return_is_nameable = match &model.output {
        Output::Never(_) => false,
        Output::Plain(ty) | Output::Folded { ty, .. } => {
            crate::types::borrow_error(ty, crate::types::Position::Return).is_none()
        }
        Output::Unit => true,
    };
    let wrapper_is_distinct = options.wrapper.as_ref() != Some(&model.func.sig.ident);
    if failed && !(return_is_nameable && wrapper_is_distinct) {
        return (TokenStream::new(), errors);
    }
    (wrapper(&model, options, failed), errors)
}

fn wrapper(model: &Model<'_>, options: &Options, failed: bool) -> TokenStream {
    let krate = match &options.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::isolate),
    };
    let private = quote!(#krate::__private);
    let sig = model.func.sig;
    let ident = &sig.ident;
    let wrapper_ident = match &options.wrapper {
        Some(wrapper) => wrapper.clone(),
        None => format_ident!("{}_isolated", ident, span = ident.span()),
    };
    let vis = model.func.vis;
    let kept_attrs = model
        .func
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg") || attr.path().is_ident("allow"));
    let target = if model.in_impl {
        format!("Self::{ident}")
    } else {
        ident.to_string()
    };
    let doc_summary = match model.supplied() {
        Some(Supplied::Progress(_)) => format!(" Runs [`{ident}`]({target}) on an isolate and returns a handle to its progress updates and result."),
        Some(Supplied::Port(..)) => format!(" Starts [`{ident}`]({target}) as a long-running worker and returns the caller's side of its port."),
        None => format!(" Runs [`{ident}`]({target}) on an isolate and returns a handle to its result."),
    };
    let doc_details =
        " Generated by `#[isolated]`: the arguments are moved to the isolate's thread. \
        Wait with `.join()` or `.await`; dropping the handle cancels the isolate.";

    // The parameters: the receiver, then the typed arguments under their names.
    let receiver_param = model.receiver.map(|receiver| {
        let ty = &receiver.ty;
        quote_spanned!(receiver.span()=> self: #ty)
    });
    let arg_params = model
        .args
        .iter()
        .filter(|arg| arg.supplied.is_none())
        .map(|arg| {
            let name = &arg.name;
            let ty = with_send_impl_traits(arg.ty);
            quote!(#name: #ty)
        });
    let params = receiver_param.into_iter().chain(arg_params);

    let (handle_args, return_turbofish) = match &model.output {
        Output::Unit | Output::Never(_) => (quote!(()), quote!(())),
        Output::Plain(ty) => {
            let shown = with_send_impl_traits(ty);
            (quote!(#shown), turbofish_type(ty))
        }
        Output::Folded { ty, shape } => {
            let args = match shape {
                ResultShape::Explicit { ok, err } => {
                    let ok = with_send_impl_traits(ok);
                    let err = with_send_impl_traits(err);
                    quote!(#ok, #err)
                }
                ResultShape::Alias => quote_spanned!(ty.span()=>
                    <#ty as #private::FoldResult>::Ok,
                    <#ty as #private::FoldResult>::Err
                ),
            };
            (args, turbofish_type(ty))
        }
    };
    let handle = match model.supplied() {
        Some(Supplied::Progress(update)) => quote!(#krate::ProgressHandle<#update, #handle_args>),
        Some(Supplied::Port(inbox, outbox)) => {
            quote!(#krate::Worker<#inbox, #outbox, #handle_args>)
        }
        None => quote!(#krate::IsolateHandle<#handle_args>),
    };

    let generics = &sig.generics;
    let mut where_clause = generics
        .where_clause
        .clone()
        .unwrap_or_else(|| syn::WhereClause {
            where_token: Default::default(),
            predicates: Default::default(),
        });
    where_clause
        .predicates
        .extend(generic_bounds(model, &krate));
    let where_clause = (!where_clause.predicates.is_empty()).then_some(where_clause);

    // The stand-in wrapper after a mistake never uses its parameters.
    let allow_unused = failed.then(|| quote!(#[allow(unused_variables)]));
    let body = if failed {
        quote!(::core::unreachable!())
    } else {
        spawn_body(model, options, &krate, return_turbofish)
    };

    quote! {
        #(#kept_attrs)*
        #[doc = #doc_summary]
        #[doc = ""]
        #[doc = #doc_details]
        #allow_unused
        #vis fn #wrapper_ident #generics (#(#params),*) -> #handle #where_clause {
            #body
        }
    }
}

/// The type to give the inner spawn function's turbofish: the user's own
/// tokens (so errors land on them), or `_` where `impl Trait` cannot be named.
fn turbofish_type(ty: &Type) -> TokenStream {
    if contains_impl_trait(ty) {
        quote!(_)
    } else {
        ty.to_token_stream()
    }
}

/// `where` predicates for the types that mention generic parameters: their
/// bounds can only be checked where the wrapper is called.
fn generic_bounds(model: &Model<'_>, krate: &TokenStream) -> Vec<WherePredicate> {
    let private = quote!(#krate::__private);
    let generic = |ty: &Type| {
        !contains_impl_trait(ty) && mentions_generics(ty, &model.generics, model.self_is_generic)
    };
    let mut predicates: Vec<WherePredicate> = Vec::new();
    let mut message_types: Vec<&Type> = Vec::new();
    if let Some(receiver) = model.receiver {
        if model.self_is_generic && receiver.reference.is_none() {
            let ty = &receiver.ty;
            predicates.push(syn::parse_quote_spanned!(receiver.span()=> #ty: #private::IsolateArg));
        }
    }
    for arg in &model.args {
        match arg.supplied {
            Some(Supplied::Progress(update)) => message_types.push(update),
            Some(Supplied::Port(inbox, outbox)) => message_types.extend([inbox, outbox]),
            None if generic(arg.ty) => {
                let ty = arg.ty;
                predicates.push(syn::parse_quote_spanned!(ty.span()=> #ty: #private::IsolateArg));
            }
            None => {}
        }
    }
    for ty in message_types.into_iter().filter(|ty| generic(ty)) {
        predicates.push(syn::parse_quote_spanned!(ty.span()=> #ty: #krate::Message));
    }
    match &model.output {
        Output::Plain(ty) if generic(ty) => {
            predicates.push(syn::parse_quote_spanned!(ty.span()=> #ty: #private::IsolateReturn));
        }
        // No `#ty: FoldResult` predicate: a where clause would hide the impl
        // and keep `<Result<T, E> as FoldResult>::Ok` from normalizing to `T`.
        Output::Folded {
            shape: ResultShape::Explicit { ok, err },
            ..
        } => {
            for part in [*ok, *err] {
                if generic(part) {
                    predicates.push(
                        syn::parse_quote_spanned!(part.span()=> #part: #private::IsolateReturn),
                    );
                }
            }
        }
        Output::Folded { ty, .. } if generic(ty) => {
            predicates.push(syn::parse_quote_spanned!(ty.span()=>
                <#ty as #private::FoldResult>::Ok: #private::IsolateReturn));
            predicates.push(syn::parse_quote_spanned!(ty.span()=>
                <#ty as #private::FoldResult>::Err: #private::IsolateReturn));
        }
        _ => {}
    }
    predicates
}

/// The wrapper's body: an inner, fully generic spawn function, called with
/// the user's types in its turbofish.
fn spawn_body(
    model: &Model<'_>,
    options: &Options,
    krate: &TokenStream,
    return_turbofish: TokenStream,
) -> TokenStream {
    let private = quote!(#krate::__private);
    let sig = model.func.sig;
    let ident = &sig.ident;
    let site = Span::mixed_site();

    let name = match &options.name {
        Some(name) => name.clone(),
        None => LitStr::new(&ident.to_string(), ident.span()),
    };
    let mut builder = quote!(#krate::Builder::new().name(#name));
    if options.dedicated.is_some() {
        builder.extend(quote!(.dedicated()));
    }
    if let Some(stack_size) = &options.stack_size {
        builder.extend(quote_spanned!(stack_size.span()=> .stack_size(#stack_size)));
    }
    if let Some(timeout) = &options.timeout {
        builder.extend(quote_spanned!(timeout.span()=> .timeout(#timeout)));
    }

    // One generic parameter and one value per thing moved to the isolate:
    // the receiver first, then the arguments.
    let mut arg_types: Vec<TokenStream> = Vec::new();
    let mut arg_values: Vec<TokenStream> = Vec::new();
    if let Some(receiver) = model.receiver {
        let ty = &receiver.ty;
        arg_types.push(quote_spanned!(receiver.span()=> #ty));
        arg_values.push(quote_spanned!(receiver.span()=> self));
    }
    for arg in model.args.iter().filter(|arg| arg.supplied.is_none()) {
        arg_types.push(turbofish_type(arg.ty));
        let name = &arg.name;
        arg_values.push(quote!(#name));
    }
    let params: Vec<_> = (0..arg_types.len())
        .map(|i| format_ident!("A{}", i, span = site))
        .collect();
    let values: Vec<_> = (0..arg_types.len())
        .map(|i| format_ident!("a{}", i, span = site))
        .collect();
    let callee = if model.in_impl {
        quote!(Self::#ident)
    } else {
        quote!(#ident)
    };
    if let Some(supplied) = model.supplied() {
        let builder = match supplied {
            Supplied::Progress(_) => builder,
            // A worker always has a thread of its own.
            Supplied::Port(..) => {
                let mut builder = quote!(#krate::WorkerBuilder::new().name(#name));
                if let Some(stack_size) = &options.stack_size {
                    builder.extend(quote_spanned!(stack_size.span()=> .stack_size(#stack_size)));
                }
                builder
            }
        };
        return supplied_spawn_body(
            model,
            krate,
            &builder,
            SpawnParts {
                arg_types,
                arg_values,
                params,
                values,
                callee,
                supplied,
                return_turbofish,
            },
        );
    }

    let folded = matches!(model.output, Output::Folded { .. });
    let spawn = format_ident!("__spawn", span = site);
    let (return_bounds, handle, fut_param, fut_turbofish, f_output, call) =
        match (model.is_async(), folded) {
            (false, false) => (
                quote!(R: #private::IsolateReturn),
                quote!(#krate::IsolateHandle<R>),
                quote!(),
                quote!(),
                quote!(R),
                quote!(builder.run(move || f(#(#values),*))),
            ),
            (true, false) => (
                quote!(R: #private::IsolateReturn),
                quote!(#krate::IsolateHandle<R>),
                quote!(Fut: ::core::future::Future<Output = R> + 'static,),
                quote!(, _),
                quote!(Fut),
                quote!(builder.run_async(move || f(#(#values),*))),
            ),
            (false, true) => (
                quote!(R: #private::FoldResult),
                quote!(#krate::IsolateHandle<
                <R as #private::FoldResult>::Ok,
                <R as #private::FoldResult>::Err,
            >),
                quote!(),
                quote!(),
                quote!(R),
                quote!(builder.try_run(move || #private::FoldResult::into_result(f(#(#values),*)))),
            ),
            (true, true) => (
                quote!(R: #private::FoldResult),
                quote!(#krate::IsolateHandle<
                <R as #private::FoldResult>::Ok,
                <R as #private::FoldResult>::Err,
            >),
                quote!(Fut: ::core::future::Future<Output = R> + 'static,),
                quote!(, _),
                quote!(Fut),
                quote!(builder.try_run_async(move || {
                    let future = f(#(#values),*);
                    async move { #private::FoldResult::into_result(future.await) }
                })),
            ),
        };
    let fold_bounds = if folded {
        quote!(
            <R as #private::FoldResult>::Ok: #private::IsolateReturn,
            <R as #private::FoldResult>::Err: #private::IsolateReturn,
        )
    } else {
        quote!()
    };

    let inner = quote! {
        #[allow(clippy::too_many_arguments, clippy::type_complexity)]
        fn #spawn<#(#params: #private::IsolateArg,)* #return_bounds, #fut_param F>(
            builder: #krate::Builder,
            #(#values: #params,)*
            f: F,
        ) -> #handle
        where
            F: ::core::ops::FnOnce(#(#params),*) -> #f_output + ::core::marker::Send + 'static,
            #fold_bounds
        {
            #call
        }
    };
    let call = quote! {
        #spawn::<#(#arg_types,)* #return_turbofish #fut_turbofish, _>(#builder, #(#arg_values,)* #callee)
    };
    quote!(#inner #call)
}

/// What [`supplied_spawn_body`] needs of the ordinary spawn body's parts.
struct SpawnParts<'a> {
    arg_types: Vec<TokenStream>,
    arg_values: Vec<TokenStream>,
    params: Vec<syn::Ident>,
    values: Vec<syn::Ident>,
    callee: TokenStream,
    supplied: Supplied<'a>,
    return_turbofish: TokenStream,
}

// Input:
//     #[isolated] fn index(files: Vec<PathBuf>, progress: Progress<usize>) -> Index { .. }
// Output (the inner function; the wrapper takes `files` only):
//     fn __spawn<A0: IsolateArg, P: Message, R: IsolateReturn, F>(builder: Builder, a0: A0, f: F)
//         -> ProgressHandle<P, R>
//     where F: FnOnce(A0, Progress<P>) -> R + Send + 'static
//     {
//         builder.run_with_progress(move |supplied| f(a0, supplied))
//     }
//     __spawn::<Vec<PathBuf>, usize, Index, _>(Builder::new().name("index"), files, index)
// A `Port<In, Out>` parameter gives the same shape with two message types,
// a `WorkerBuilder`, `.spawn(..)` and a `Worker<In, Out, R>`.
fn supplied_spawn_body(
    model: &Model<'_>,
    krate: &TokenStream,
    builder: &TokenStream,
    parts: SpawnParts<'_>,
) -> TokenStream {
    let private = quote!(#krate::__private);
    let site = Span::mixed_site();
    let SpawnParts {
        arg_types,
        arg_values,
        params,
        values,
        callee,
        supplied,
        return_turbofish,
    } = parts;
    let spawn = format_ident!("__spawn", span = site);
    let given = format_ident!("supplied", span = site);
    let (message_params, message_turbofish, given_type, builder_type, handle_type, method) =
        match supplied {
            Supplied::Progress(update) => (
                quote!(P: #krate::Message,),
                {
                    let update = turbofish_type(update);
                    quote!(#update,)
                },
                quote!(#krate::Progress<P>),
                quote!(#krate::Builder),
                quote!(#krate::ProgressHandle<P,),
                "run_with_progress",
            ),
            Supplied::Port(inbox, outbox) => (
                quote!(In: #krate::Message, Out: #krate::Message,),
                {
                    let (inbox, outbox) = (turbofish_type(inbox), turbofish_type(outbox));
                    quote!(#inbox, #outbox,)
                },
                quote!(#krate::Port<In, Out>),
                quote!(#krate::WorkerBuilder),
                quote!(#krate::Worker<In, Out,),
                "spawn",
            ),
        };
    // The receiver (if any) comes first, then the arguments in the user's
    // order, with the supplied parameter at its own place among them.
    let mut f_params = Vec::new();
    let mut f_values = Vec::new();
    let mut moved = params.iter().zip(&values);
    if model.receiver.is_some() {
        if let Some((param, value)) = moved.next() {
            f_params.push(quote!(#param));
            f_values.push(quote!(#value));
        }
    }
    for arg in &model.args {
        if arg.supplied.is_some() {
            f_params.push(given_type.clone());
            f_values.push(quote!(#given));
        } else if let Some((param, value)) = moved.next() {
            f_params.push(quote!(#param));
            f_values.push(quote!(#value));
        }
    }
    let folded = matches!(model.output, Output::Folded { .. });
    let method = match (folded, model.is_async(), supplied) {
        (false, false, _) => method.to_owned(),
        (true, false, _) => format!("try_{method}"),
        (false, true, Supplied::Progress(_)) => "run_async_with_progress".to_owned(),
        (true, true, Supplied::Progress(_)) => "try_run_async_with_progress".to_owned(),
        (false, true, Supplied::Port(..)) => "spawn_async".to_owned(),
        (true, true, Supplied::Port(..)) => "try_spawn_async".to_owned(),
    };
    let method = format_ident!("{}", method);
    // An async function's call makes a future `Fut`; folding maps its output.
    let (fut_param, fut_turbofish, f_output) = if model.is_async() {
        (
            quote!(Fut: ::core::future::Future<Output = R> + 'static,),
            quote!(, _),
            quote!(Fut),
        )
    } else {
        (quote!(), quote!(), quote!(R))
    };
    let fold = |call: TokenStream| match (folded, model.is_async()) {
        (false, _) => call,
        (true, false) => quote!(#private::FoldResult::into_result(#call)),
        (true, true) => quote!({
            let future = #call;
            async move { #private::FoldResult::into_result(future.await) }
        }),
    };
    let body = fold(quote!(f(#(#f_values),*)));
    let call = quote!(builder.#method(move |#given| #body));
    let (return_bounds, handle) = if folded {
        (
            quote!(
                R: #private::FoldResult,
                <R as #private::FoldResult>::Ok: #private::IsolateReturn,
                <R as #private::FoldResult>::Err: #private::IsolateReturn,
            ),
            quote!(#handle_type <R as #private::FoldResult>::Ok, <R as #private::FoldResult>::Err>),
        )
    } else {
        (quote!(R: #private::IsolateReturn,), quote!(#handle_type R>))
    };
    quote! {
        #[allow(clippy::too_many_arguments, clippy::type_complexity)]
        fn #spawn<#(#params: #private::IsolateArg,)* #message_params R, #fut_param F>(
            builder: #builder_type,
            #(#values: #params,)*
            f: F,
        ) -> #handle
        where
            F: ::core::ops::FnOnce(#(#f_params),*) -> #f_output + ::core::marker::Send + 'static,
            #return_bounds
        {
            #call
        }
        #spawn::<#(#arg_types,)* #message_turbofish #return_turbofish #fut_turbofish, _>(#builder, #(#arg_values,)* #callee)
    }
}
